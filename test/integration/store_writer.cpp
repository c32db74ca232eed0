// store_writer: writes to an embedded store until killed, reporting each acknowledged write on
// stdout, so that a test can kill it mid-write and check that nothing acknowledged was lost.
// Usage: store_writer PATH PREFIX
#include "store/sqlite_database.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: store_writer PATH PREFIX\n");
        return 2;
    }
    edw::SqliteDatabase store(argv[1]);
    const std::string prefix = argv[2];
    const std::string payload(2000, 'x'); // large enough that a batch spans many WAL pages
    std::string counter_rev;
    for (int batch = 0;; ++batch) {
        std::vector<nlohmann::json> docs;
        for (int i = 0; i < 50; ++i) {
            docs.push_back(
                {{"_id", prefix + "-" + std::to_string(batch * 50 + i)}, {"payload", payload}});
        }
        nlohmann::json counter = {{"_id", prefix + "-counter"}, {"batch", batch}};
        if (!counter_rev.empty()) {
            counter["_rev"] = counter_rev;
        }
        docs.push_back(counter);
        const auto results = store.bulk_save(docs);
        for (const auto& result : results) {
            if (!result.ok()) {
                std::fprintf(stderr, "store_writer: %s: %s\n", result.id.c_str(),
                             result.error.c_str());
                return 1;
            }
        }
        counter_rev = results.back().rev;
        // Only now is the batch acknowledged.
        std::printf("%d %s\n", batch, counter_rev.c_str());
        std::fflush(stdout);
    }
}
