// The export worker: copies a file's queued content to the archive, checked by md5 at both ends.
#include "gemini.hpp"

#include <thread>

namespace gemini {

edw::Step export_step(const WorkerOptions& options)
{
    return queue_step("export", options.name, [options](const nlohmann::json& item) {
        const std::string name = item.at("file").get<std::string>();
        const std::string md5 = item.at("md5").get<std::string>();
        const auto source = options.dir / name;
        if (auto result = superseded(source, item)) {
            return *result;
        }
        const auto target = options.archive / name;
        // The archive has this content already (a copy made just before a crash that kept the
        // result from being recorded): nothing to send.
        std::error_code error;
        if (std::filesystem::exists(target, error) && edw::md5_file_hex(target) == md5) {
            return nlohmann::json{{"to", "done"},
                                  {"changes", {{"action", "exported"}, {"copied", false}}},
                                  {"note", "already in the archive with this md5"}};
        }
        std::this_thread::sleep_for(options.work);
        // A part file of its own per content, renamed into place only once its md5 is checked,
        // so the archive never holds a partial or mixed copy under the file's name.
        const auto part = options.archive / ("." + name + "." + md5 + ".part");
        std::filesystem::copy_file(source, part, std::filesystem::copy_options::overwrite_existing);
        const std::string copied = edw::md5_file_hex(part);
        if (copied != md5) {
            std::filesystem::remove(part, error);
            // The source changed during the copy: the retry finds the item superseded.
            throw edw::Error("the copy of " + name + " has md5 " + copied + ", not " + md5);
        }
        std::filesystem::rename(part, target);
        return nlohmann::json{{"to", "done"},
                              {"changes", {{"action", "exported"}, {"copied", true}}}};
    });
}

} // namespace gemini
