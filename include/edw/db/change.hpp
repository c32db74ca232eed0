// Change: one row of a database's changes feed.
#pragma once

#include <edw/db/seq.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edw {

/// A document as JSON text, exactly as the database gave it. Reading a feed builds no document
/// tree: whoever needs the fields parses the text, and a doc that does not parse is that doc's
/// own error, not the feed's.
class DocText {
public:
    DocText() = default;
    explicit DocText(std::string text)
        : m_text(std::move(text))
    {}
    [[nodiscard]] const std::string& text() const noexcept { return m_text; }
    /// The document. Throws JsonError ("malformed document: ...") when the text is not JSON.
    [[nodiscard]] nlohmann::json parse() const;

private:
    std::string m_text;
};

/// One row of a `_changes` response: a document that changed, and where in the feed.
struct Change {
    Seq seq;
    std::string id;
    std::vector<std::string> revs; ///< The `rev` of each entry in `changes`.
    bool deleted = false;          ///< The winning revision is a tombstone.
    std::optional<DocText> doc;    ///< Present when the feed was asked for `include_docs`.
};

/// The end of one feed response: where to resume, and how many rows the server still holds.
struct FeedEnd {
    Seq last_seq;
    std::optional<std::uint64_t> pending; ///< Absent on servers before CouchDB 2.
};

} // namespace edw
