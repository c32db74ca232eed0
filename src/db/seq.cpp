// Seq: validation and conversion of feed positions.
#include "edw/db/seq.hpp"

#include <edw/util/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace edw {

// Checked here so that to_query() cannot fail in the middle of a reconnect.
Seq::Seq(std::string json)
    : m_json(std::move(json))
{
    const auto value = nlohmann::json::parse(m_json, nullptr, false);
    if (value.is_discarded() || !(value.is_string() || value.is_number_unsigned() ||
                                  (value.is_number_integer() && value.get<long long>() >= 0))) {
        throw JsonError("not a changes-feed seq: " + m_json);
    }
    m_json = value.dump(); // canonical text, so that equal seqs compare equal
}

Seq Seq::from_json(const nlohmann::json& value)
{
    if (!(value.is_string() || value.is_number_unsigned() ||
          (value.is_number_integer() && value.get<long long>() >= 0))) {
        throw JsonError("not a changes-feed seq: " + value.dump());
    }
    Seq seq;
    seq.m_json = value.dump();
    return seq;
}

Seq Seq::from_string(std::string_view text)
{
    // Seqs are plain ASCII in practice; only text that JSON must escape (or that must be checked
    // as UTF-8) goes through nlohmann, so that reading a feed row costs one string copy.
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
    });
    if (!plain) {
        return from_json(nlohmann::json(std::string(text)));
    }
    Seq seq;
    seq.m_json.clear();
    seq.m_json.reserve(text.size() + 2);
    seq.m_json.push_back('"');
    seq.m_json.append(text);
    seq.m_json.push_back('"');
    return seq;
}

Seq Seq::from_number(std::uint64_t number)
{
    Seq seq;
    seq.m_json = std::to_string(number);
    return seq;
}

Seq Seq::now()
{
    return Seq(R"("now")");
}

std::string Seq::to_query() const
{
    if (!m_json.empty() && m_json.front() == '"') {
        return nlohmann::json::parse(m_json).get<std::string>();
    }
    return m_json;
}

nlohmann::json Seq::to_json() const
{
    return nlohmann::json::parse(m_json);
}

std::optional<std::uint64_t> approximate_update_count(const Seq& seq)
{
    std::string text = seq.json();
    if (!text.empty() && text.front() == '"') {
        text = text.substr(1);
    }
    std::size_t digits = 0;
    while (digits < text.size() && digits < 19 && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    const bool ends_well = digits == text.size() || text[digits] == '-' || text[digits] == '"';
    if (digits == 0 || !ends_well) {
        return std::nullopt;
    }
    return std::stoull(text.substr(0, digits));
}

} // namespace edw
