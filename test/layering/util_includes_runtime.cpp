// A probe that must not build: util, the lowest part, includes the runtime, a higher one.
#include <edw/runtime/step_runner.hpp>
