// DocText: a document kept as the JSON text it arrived in, parsed on demand.
#include <edw/change.hpp>
#include <edw/error.hpp>

namespace edw {

nlohmann::json DocText::parse() const
{
    auto doc = nlohmann::json::parse(m_text, nullptr, false);
    if (doc.is_discarded()) {
        constexpr std::size_t shown = 200;
        std::size_t length = std::min(shown, m_text.size());
        while (length > 0 && length < m_text.size() &&
               (static_cast<unsigned char>(m_text[length]) & 0xC0U) == 0x80U) {
            --length; // keep the message valid UTF-8
        }
        throw JsonError("malformed document: " + m_text.substr(0, length));
    }
    return doc;
}

} // namespace edw
