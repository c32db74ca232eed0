// Feed parsers: `_changes` bodies read with simdjson On Demand, one reused parser per feed.
#include "edw/couch/feed_parser.hpp"

#include <edw/util/error.hpp>
#include <edw/util/excerpt.hpp>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace edw {
namespace {

namespace ondemand = simdjson::ondemand;

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// The text being parsed, named for messages: a feed line, or a page body and one of its rows.
struct Source {
    std::string_view name; // "changes feed line", "changes response row"
    std::string_view text; // starts where the object does; excerpt() keeps the head
};

[[noreturn]] void throw_malformed(const Source& source)
{
    throw JsonError("malformed " + std::string(source.name) + ": " + excerpt(source.text));
}

// Every simdjson result is checked here, on the line that produced it, and any failure is
// reported as the whole source being malformed: the simdjson detail rarely helps a reader.
template <typename T> T checked(simdjson::simdjson_result<T>&& result, const Source& source)
{
    T value{};
    if (std::move(result).get(value) != simdjson::SUCCESS) {
        throw_malformed(source);
    }
    return value;
}

std::string_view string_or_raw(ondemand::value& value, const Source& source)
{
    if (checked(value.type(), source) == ondemand::json_type::string) {
        return checked(value.get_string(), source);
    }
    return trim(value.raw_json_token());
}

// CouchDB answers some failures inside a 200 response, as a line or body of its own.
struct ServerError {
    bool present = false;
    std::string error;
    std::string reason;
};

void throw_if_present(const ServerError& server_error, std::string_view what)
{
    if (server_error.present) {
        throw JsonError(std::string(what) + " reported an error: " + server_error.error + ": " +
                        server_error.reason);
    }
}

// A seq is opaque: it is copied, never computed with. A null seq (`seq_interval`) takes the last
// seq seen, which lies before the row, so that checkpointing it can replay but never skip.
Seq read_seq(ondemand::value& value, const std::optional<Seq>& last_seq, const Source& source)
{
    switch (checked(value.type(), source)) {
    case ondemand::json_type::string:
        return Seq::from_string(checked(value.get_string(), source));
    case ondemand::json_type::number:
        // A small number is reported as signed even when it has no minus sign.
        switch (checked(value.get_number_type(), source)) {
        case ondemand::number_type::unsigned_integer:
            return Seq::from_number(checked(value.get_uint64(), source));
        case ondemand::number_type::signed_integer: {
            const std::int64_t number = checked(value.get_int64(), source);
            if (number < 0) {
                throw_malformed(source);
            }
            return Seq::from_number(static_cast<std::uint64_t>(number));
        }
        default:
            throw_malformed(source);
        }
    case ondemand::json_type::null:
        return last_seq ? *last_seq : Seq();
    default:
        throw_malformed(source);
    }
}

void read_revs(ondemand::value& value, std::vector<std::string>& revs, const Source& source)
{
    for (auto element : checked(value.get_array(), source)) {
        auto entry = checked(checked(std::move(element), source).get_object(), source);
        revs.emplace_back(
            checked(checked(entry.find_field_unordered("rev"), source).get_string(), source));
    }
}

std::optional<DocText> read_doc(ondemand::value& value, const Source& source)
{
    if (checked(value.type(), source) == ondemand::json_type::null) {
        return std::nullopt; // no doc to give, as for a row the server could not read
    }
    // Kept as text: On Demand skips over it (checking its brackets and UTF-8), and whoever needs
    // its fields parses it then, so that reading the feed builds no document tree.
    return DocText(std::string(checked(checked(value.get_object(), source).raw_json(), source)));
}

// Reads one row object into `change`, or into `end` when it is the `last_seq` line, and returns
// whether it was the end. Fields are matched in any order: CouchDB sends `seq` first, PouchDB last.
bool read_row(ondemand::object& row, const Source& source, std::optional<Seq>& last_seq,
              Change& change, FeedEnd& end)
{
    bool has_seq = false;
    bool has_id = false;
    bool is_end = false;
    ServerError server_error;
    for (auto field_result : row) {
        auto field = checked(std::move(field_result), source);
        const ondemand::raw_json_string key = field.key();
        ondemand::value& value = field.value();
        if (key == "seq") {
            change.seq = read_seq(value, last_seq, source);
            has_seq = true;
        } else if (key == "id") {
            change.id = checked(value.get_string(), source);
            has_id = true;
        } else if (key == "changes") {
            read_revs(value, change.revs, source);
        } else if (key == "deleted") {
            change.deleted = checked(value.get_bool(), source);
        } else if (key == "doc") {
            change.doc = read_doc(value, source);
        } else if (key == "last_seq") {
            end.last_seq = read_seq(value, last_seq, source);
            is_end = true;
        } else if (key == "pending") {
            if (checked(value.type(), source) != ondemand::json_type::null) {
                end.pending = checked(value.get_uint64(), source);
            }
        } else if (key == "error") {
            server_error.present = true;
            server_error.error = string_or_raw(value, source);
        } else if (key == "reason") {
            server_error.reason = string_or_raw(value, source);
        }
    }
    throw_if_present(server_error, "changes feed");
    if (is_end) {
        return true;
    }
    if (!has_seq) {
        throw JsonError(std::string(source.name) + " without seq: " + excerpt(source.text));
    }
    if (!has_id) {
        throw JsonError(std::string(source.name) + " without id: " + excerpt(source.text));
    }
    last_seq = change.seq; // assigns into the kept string: no allocation once it is large enough
    return false;
}

// After the root object, only the end of input may follow: `{..}{..}` on one line is an error.
void require_end_of_document(ondemand::document& document, const Source& source)
{
    const char* location = nullptr;
    if (document.current_location().get(location) != simdjson::OUT_OF_BOUNDS) {
        throw_malformed(source);
    }
}

} // namespace

struct ContinuousFeedParser::Impl {
    ondemand::parser parser;
    // Received bytes live in [begin, end) and are always followed by at least SIMDJSON_PADDING
    // allocated bytes, so that a line is parsed where it lies. Consumed bytes are only dropped when
    // space runs out, by moving the unfinished line to the front.
    std::vector<char> buffer;
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t scanned = 0; // [begin, scanned) holds no '\n': one-byte feeds stay linear
    std::optional<Seq> last_seq;

    void append(std::string_view bytes)
    {
        if (end + bytes.size() + simdjson::SIMDJSON_PADDING > buffer.size()) {
            if (begin > 0) {
                std::memmove(buffer.data(), buffer.data() + begin, end - begin);
                end -= begin;
                scanned -= begin;
                begin = 0;
            }
            const std::size_t needed = end + bytes.size() + simdjson::SIMDJSON_PADDING;
            if (needed > buffer.size()) {
                buffer.resize(std::max(needed, 2 * buffer.size()));
            }
        }
        if (!bytes.empty()) {
            std::memcpy(buffer.data() + end, bytes.data(), bytes.size());
            end += bytes.size();
        }
    }

    void parse_lines(Handler& handler)
    {
        while (scanned < end) {
            const char* data = buffer.data();
            const void* newline = std::memchr(data + scanned, '\n', end - scanned);
            if (newline == nullptr) {
                scanned = end;
                break;
            }
            const auto line_end =
                static_cast<std::size_t>(static_cast<const char*>(newline) - data);
            const std::string_view line(data + begin, line_end - begin);
            // Consumed before it is parsed, so that a throw leaves the parser on the next line.
            begin = line_end + 1;
            scanned = begin;
            parse_line(line, handler);
        }
        if (begin == end) {
            begin = 0;
            end = 0;
            scanned = 0;
        }
    }

    void parse_line(std::string_view line, Handler& handler)
    {
        const std::string_view text = trim(line);
        if (text.empty()) {
            handler.on_heartbeat();
            return;
        }
        const Source source{"changes feed line", text};
        Change change;
        FeedEnd feed_end;
        bool is_end = false;
        {
            // The byte after `text` is whitespace, never a bracket, which On Demand relies on when
            // it checks that the object is closed.
            const auto offset = static_cast<std::size_t>(text.data() - buffer.data());
            auto document =
                checked(parser.iterate(text.data(), text.size(), buffer.size() - offset), source);
            auto row = checked(document.get_object(), source);
            is_end = read_row(row, source, last_seq, change, feed_end);
            require_end_of_document(document, source);
        }
        if (is_end) {
            handler.on_end(std::move(feed_end));
        } else {
            handler.on_change(std::move(change));
        }
    }
};

ContinuousFeedParser::ContinuousFeedParser()
    : m_impl(std::make_unique<Impl>())
{}

ContinuousFeedParser::~ContinuousFeedParser() = default;
ContinuousFeedParser::ContinuousFeedParser(ContinuousFeedParser&&) noexcept = default;
ContinuousFeedParser& ContinuousFeedParser::operator=(ContinuousFeedParser&&) noexcept = default;

void ContinuousFeedParser::feed(std::string_view bytes, Handler& handler)
{
    m_impl->append(bytes);
    m_impl->parse_lines(handler);
}

bool ContinuousFeedParser::has_partial_line() const noexcept
{
    const auto* first = m_impl->buffer.data() + m_impl->begin;
    const auto* last = m_impl->buffer.data() + m_impl->end;
    return std::any_of(first, last, [](char c) { return !is_space(c); });
}

void ContinuousFeedParser::reset() noexcept
{
    m_impl->begin = 0;
    m_impl->end = 0;
    m_impl->scanned = 0;
    m_impl->last_seq.reset();
}

ChangesPage parse_changes_page(std::string_view body)
{
    const Source source{"changes response", trim(body)};
    const simdjson::padded_string padded(body);
    ondemand::parser parser;
    auto document = checked(parser.iterate(padded), source);
    auto page_object = checked(document.get_object(), source);

    ChangesPage page;
    std::optional<Seq> last_seq;
    bool has_results = false;
    bool has_last_seq = false;
    ServerError server_error;
    const char* const padded_end = padded.data() + padded.size();
    for (auto field_result : page_object) {
        auto field = checked(std::move(field_result), source);
        const ondemand::raw_json_string key = field.key();
        ondemand::value& value = field.value();
        if (key == "results") {
            has_results = true;
            for (auto element : checked(value.get_array(), source)) {
                auto row_value = checked(std::move(element), source);
                const char* row_start = row_value.raw_json_token().data();
                const Source row_source{"changes response row",
                                        std::string_view(row_start, padded_end - row_start)};
                auto row = checked(row_value.get_object(), row_source);
                Change change;
                FeedEnd unused;
                if (read_row(row, row_source, last_seq, change, unused)) {
                    throw_malformed(row_source); // a `last_seq` belongs after the results
                }
                page.results.push_back(std::move(change));
            }
        } else if (key == "last_seq") {
            page.end.last_seq = read_seq(value, last_seq, source);
            has_last_seq = true;
        } else if (key == "pending") {
            if (checked(value.type(), source) != ondemand::json_type::null) {
                page.end.pending = checked(value.get_uint64(), source);
            }
        } else if (key == "error") {
            server_error.present = true;
            server_error.error = string_or_raw(value, source);
        } else if (key == "reason") {
            server_error.reason = string_or_raw(value, source);
        }
    }
    require_end_of_document(document, source);
    throw_if_present(server_error, "changes response");
    if (!has_results || !has_last_seq) {
        throw_malformed(source);
    }
    return page;
}

} // namespace edw
