// DocText: a document kept as the JSON text it arrived in, parsed on demand.
#include <edw/db/change.hpp>
#include <edw/util/error.hpp>
#include <edw/util/excerpt.hpp>

namespace edw {

nlohmann::json DocText::parse() const
{
    auto doc = nlohmann::json::parse(m_text, nullptr, false);
    if (doc.is_discarded()) {
        throw JsonError("malformed document: " + excerpt(m_text));
    }
    return doc;
}

} // namespace edw
