// A probe that must not build: the runtime works on the Database interface and never sees a
// backend, so the embedded store's header is out of its reach.
#include <edw/store/embedded_store.hpp>
