// Fuzz target: the changes feed parser, fed untrusted bytes as a server (or a proxy) might send.
#include <edw/couch/feed_parser.hpp>
#include <edw/util/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

struct Ignore final : edw::ContinuousFeedParser::Handler {
    void on_change(edw::Change&&) override {}
    void on_end(edw::FeedEnd&&) override {}
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // A continuous feed, cut at a place the input chooses, as the network cuts it.
    const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
    edw::ContinuousFeedParser parser;
    Ignore handler;
    for (const auto part : {bytes.substr(0, cut), bytes.substr(cut), std::string_view()}) {
        try {
            parser.feed(part, handler);
        } catch (const edw::JsonError&) {
            // A bad line is reported and skipped; the parser must stay usable.
        }
    }
    (void)parser.has_partial_line();
    // The same bytes as a normal or longpoll page.
    try {
        (void)edw::parse_changes_page(bytes);
    } catch (const edw::JsonError&) {
    }
    return 0;
}
