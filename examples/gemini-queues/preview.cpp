// The preview worker: a small greyscale image (PGM) of a file's queued content.
#include "gemini.hpp"

#include <iterator>
#include <thread>

namespace gemini {
namespace {

constexpr int preview_side = 64;

// The bytes after the header, sampled evenly into preview_side x preview_side pixels: enough
// to tell two contents apart at a glance, as a real preview of the image data would.
std::string pixels_of(const std::string& bytes)
{
    const auto end = bytes.find("\nEND\n");
    const std::string_view data =
        std::string_view(bytes).substr(end == std::string::npos ? 0 : end + 5);
    std::string pixels(preview_side * preview_side, '\0');
    for (std::size_t i = 0; i < pixels.size() && !data.empty(); ++i) {
        pixels[i] = data[i * data.size() / pixels.size()];
    }
    return pixels;
}

} // namespace

edw::Step preview_step(const WorkerOptions& options)
{
    return queue_step("preview", options.name, [options](const nlohmann::json& item) {
        const std::string name = item.at("file").get<std::string>();
        const std::string md5 = item.at("md5").get<std::string>();
        const auto source = options.dir / name;
        if (auto result = superseded(source, item)) {
            return *result;
        }
        std::ifstream in(source, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in), {}};
        if (!in || edw::md5_hex(bytes) != md5) {
            throw edw::Error("cannot read " + source.string() + " as queued (md5 " + md5 + ")");
        }
        std::this_thread::sleep_for(options.work);
        // The md5 goes in a PGM comment, so the preview says which content it shows.
        const auto target = options.previews / (name + ".pgm");
        const auto part = options.previews / ("." + name + "." + md5 + ".part");
        {
            std::ofstream out(part, std::ios::binary | std::ios::trunc);
            out << "P5\n# md5 " << md5 << "\n"
                << preview_side << " " << preview_side << "\n255\n"
                << pixels_of(bytes);
            if (!out.flush()) {
                throw edw::StoreError("cannot write " + part.string());
            }
        }
        std::filesystem::rename(part, target);
        return nlohmann::json{{"to", "done"},
                              {"changes", {{"action", "previewed"}, {"preview", target.string()}}}};
    });
}

} // namespace gemini
