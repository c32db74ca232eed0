// The control for the probes: a part includes a lower part's header and builds.
#include <edw/util/log.hpp>
