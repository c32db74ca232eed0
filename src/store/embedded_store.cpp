// EmbeddedStore: the store's one public way in; SqliteDatabase stays private to src/store.
#include "edw/store/embedded_store.hpp"

#include "sqlite_database.hpp"

namespace edw {

std::unique_ptr<Database> open_embedded_store(const std::filesystem::path& path,
                                              std::chrono::milliseconds js_timeout,
                                              const std::string& name)
{
    return std::make_unique<SqliteDatabase>(path, js_timeout, name);
}

} // namespace edw
