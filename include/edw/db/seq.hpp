// Seq: a position in a changes feed, kept exactly as the server sent it.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edw {

/// A position in a database's changes feed.
///
/// CouchDB 2 and later send `seq` as an opaque string, older servers as a number, so a Seq keeps
/// the raw JSON text. Seqs compare for equality only: their order means nothing to a client.
class Seq {
public:
    Seq() = default; ///< The start of the feed, as in `since=0`.

    /// Wraps the raw JSON of a `seq` field, such as `"12-g1AA"` (quotes kept) or `42`.
    /// Throws JsonError when `json` is neither a JSON string nor an unsigned integer.
    explicit Seq(std::string json);

    /// Wraps a parsed `seq` value. Throws JsonError when it is neither a string nor an integer.
    static Seq from_json(const nlohmann::json& value);
    /// A string seq, as read (unescaped) from a feed: the same as from_json of that string.
    static Seq from_string(std::string_view text);
    /// A number seq, as older servers and the embedded store send them.
    static Seq from_number(std::uint64_t number);
    /// The position `now` (the end of the feed when the request arrives).
    static Seq now();

    /// The text to send as `since=`: a string seq without its quotes.
    [[nodiscard]] std::string to_query() const;
    /// The seq as a JSON value, to store in a checkpoint document.
    [[nodiscard]] nlohmann::json to_json() const;
    [[nodiscard]] const std::string& json() const noexcept { return m_json; }
    [[nodiscard]] bool is_now() const noexcept { return m_json == "\"now\""; }
    friend bool operator==(const Seq&, const Seq&) = default;

private:
    std::string m_json = "0";
};

/// The number at the front of a seq: the seq itself for servers that send integers, and the
/// `N` of CouchDB 2+'s `"N-opaque"`, which counts updates (roughly, on a cluster). Nothing for
/// any other form. Only for estimates (metrics, catch-up progress): seqs are never ordered by it.
std::optional<std::uint64_t> approximate_update_count(const Seq& seq);

} // namespace edw
