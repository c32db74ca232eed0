// DocText: a document kept as the JSON text it arrived in, parsed on demand.
#include <edw/change.hpp>
#include <edw/error.hpp>
#include <edw/excerpt.hpp>

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
