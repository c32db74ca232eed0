// Collation: CouchDB's view key order, by comparison and as memcmp-ordered sort keys.
#include "edw/db/collation.hpp"

#include <edw/util/error.hpp>

#include <nlohmann/json.hpp>

#include <unicode/ucol.h>
#include <unicode/uiter.h>
#include <unicode/ustring.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>

namespace edw {
namespace {

// The order of JSON types in CouchDB's collation. The values double as the type tags that open
// each value in a sort key; they start above 0 because 0 closes arrays and objects, which makes
// a shorter array or object sort before a longer one that starts the same way.
enum class Rank : char {
    null = 0x10,
    false_value = 0x20,
    true_value = 0x30,
    number = 0x40,
    string = 0x50,
    array = 0x60,
    object = 0x70,
};

constexpr char end_of_sequence = 0x00;

struct CollatorCloser {
    void operator()(UCollator* collator) const noexcept { ucol_close(collator); }
};
using CollatorPtr = std::unique_ptr<UCollator, CollatorCloser>;

CollatorPtr open_root_collator()
{
    UErrorCode status = U_ZERO_ERROR;
    // The root locale with default attributes is what CouchDB's couch_ejson_compare NIF opens.
    CollatorPtr collator(ucol_open("", &status));
    if (U_FAILURE(status)) {
        throw StoreError(std::string("cannot open the ICU root collator: ") + u_errorName(status));
    }
    return collator;
}

// ICU collators are thread-safe for comparisons and sort keys, which take a const UCollator, so
// one is shared. A failed open throws out of the initializer and is tried again on the next call.
const UCollator* root_collator()
{
    static const CollatorPtr collator = open_root_collator();
    return collator.get();
}

int32_t icu_length(std::string_view text)
{
    if (text.size() > static_cast<std::size_t>(std::numeric_limits<int32_t>::max() / 2)) {
        throw JsonError("cannot collate a string of " + std::to_string(text.size()) +
                        " bytes: too long for ICU");
    }
    return static_cast<int32_t>(text.size());
}

int sign(int value) noexcept
{
    return (value > 0) - (value < 0);
}

// Reads UTF-8 through ICU's UTF-8 iterator, exactly as CouchDB does, so that ill-formed bytes
// collate as U+FFFD there and here.
int compare_strings(std::string_view a, std::string_view b)
{
    UCharIterator iterator_a;
    UCharIterator iterator_b;
    uiter_setUTF8(&iterator_a, a.data(), icu_length(a));
    uiter_setUTF8(&iterator_b, b.data(), icu_length(b));
    UErrorCode status = U_ZERO_ERROR;
    const UCollationResult result =
        ucol_strcollIter(root_collator(), &iterator_a, &iterator_b, &status);
    if (U_FAILURE(status)) {
        throw StoreError(std::string("cannot compare strings with ICU: ") + u_errorName(status));
    }
    return static_cast<int>(result);
}

// An ICU sort key ends in its only 0 byte, so it compares as its string does and no key is a
// prefix of another: whatever follows it in an array cannot change the order.
void append_string(std::string& key, std::string_view text)
{
    // UTF-8 never takes fewer code units than UTF-16, ill-formed bytes included (one U+FFFD each).
    std::u16string utf16(text.size(), u'\0');
    int32_t utf16_length = 0;
    UErrorCode status = U_ZERO_ERROR;
    u_strFromUTF8WithSub(utf16.data(), static_cast<int32_t>(utf16.size()), &utf16_length,
                         text.data(), icu_length(text), 0xFFFD, nullptr, &status);
    if (U_FAILURE(status)) {
        throw StoreError(std::string("cannot convert a string for ICU: ") + u_errorName(status));
    }
    const std::size_t start = key.size();
    // Root sort keys of short strings take a few bytes per character; the retry covers the rest.
    int32_t capacity = 3 * utf16_length + 16;
    for (;;) {
        key.resize(start + static_cast<std::size_t>(capacity));
        const int32_t length =
            ucol_getSortKey(root_collator(), utf16.data(), utf16_length,
                            reinterpret_cast<uint8_t*>(key.data() + start), capacity);
        if (length <= 0) {
            throw StoreError("cannot make an ICU sort key for a string of " +
                             std::to_string(text.size()) + " bytes");
        }
        if (length <= capacity) {
            key.resize(start + static_cast<std::size_t>(length));
            return;
        }
        capacity = length;
    }
}

// Flips the sign bit of a non-negative double and every bit of a negative one, which turns IEEE
// order into unsigned order; big-endian bytes then make it memcmp order.
void append_number(std::string& key, double number)
{
    if (number == 0.0) {
        number = 0.0; // -0.0 collates equal to 0.0, so it must get the same bytes
    }
    constexpr std::uint64_t sign_bit = std::uint64_t{1} << 63;
    std::uint64_t bits = std::bit_cast<std::uint64_t>(number);
    bits = (bits & sign_bit) != 0 ? ~bits : bits | sign_bit;
    for (int shift = 56; shift >= 0; shift -= 8) {
        key.push_back(static_cast<char>((bits >> shift) & 0xFF));
    }
}

template <class Json> Rank rank(const Json& value)
{
    switch (value.type()) {
    case nlohmann::json::value_t::null:
        return Rank::null;
    case nlohmann::json::value_t::boolean:
        return value.template get<bool>() ? Rank::true_value : Rank::false_value;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
        return Rank::number;
    case nlohmann::json::value_t::number_float:
        // JSON has no NaN or infinity; nlohmann and JavaScript write them as null.
        return std::isfinite(value.template get<double>()) ? Rank::number : Rank::null;
    case nlohmann::json::value_t::string:
        return Rank::string;
    case nlohmann::json::value_t::array:
        return Rank::array;
    case nlohmann::json::value_t::object:
        return Rank::object;
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
        break;
    }
    throw JsonError(std::string("cannot collate a ") + value.type_name() + " value: not JSON");
}

template <class Json> int compare(const Json& a, const Json& b)
{
    const Rank rank_a = rank(a);
    const Rank rank_b = rank(b);
    if (rank_a != rank_b) {
        return rank_a < rank_b ? -1 : 1;
    }
    switch (rank_a) {
    case Rank::null:
    case Rank::false_value:
    case Rank::true_value:
        return 0;
    case Rank::number: {
        // Doubles, as JavaScript map functions emit them, and as sort keys store them.
        const auto x = a.template get<double>();
        const auto y = b.template get<double>();
        return (x > y) - (x < y);
    }
    case Rank::string:
        return compare_strings(a.template get_ref<const typename Json::string_t&>(),
                               b.template get_ref<const typename Json::string_t&>());
    case Rank::array: {
        auto it_a = a.begin();
        auto it_b = b.begin();
        for (; it_a != a.end() && it_b != b.end(); ++it_a, ++it_b) {
            if (const int result = compare(*it_a, *it_b); result != 0) {
                return result;
            }
        }
        return (it_a != a.end()) - (it_b != b.end());
    }
    case Rank::object: {
        auto it_a = a.begin();
        auto it_b = b.begin();
        for (; it_a != a.end() && it_b != b.end(); ++it_a, ++it_b) {
            if (const int result = compare_strings(it_a.key(), it_b.key()); result != 0) {
                return result;
            }
            if (const int result = compare(it_a.value(), it_b.value()); result != 0) {
                return result;
            }
        }
        return (it_a != a.end()) - (it_b != b.end());
    }
    }
    return 0;
}

template <class Json> void append_value(std::string& key, const Json& value)
{
    const Rank value_rank = rank(value);
    key.push_back(static_cast<char>(value_rank));
    switch (value_rank) {
    case Rank::null:
    case Rank::false_value:
    case Rank::true_value:
        return;
    case Rank::number:
        append_number(key, value.template get<double>());
        return;
    case Rank::string:
        append_string(key, value.template get_ref<const typename Json::string_t&>());
        return;
    case Rank::array:
        for (const auto& element : value) {
            append_value(key, element);
        }
        key.push_back(end_of_sequence);
        return;
    case Rank::object:
        // Each member key is tagged as a string, so no member starts with end_of_sequence.
        for (auto it = value.begin(); it != value.end(); ++it) {
            key.push_back(static_cast<char>(Rank::string));
            append_string(key, it.key());
            append_value(key, it.value());
        }
        key.push_back(end_of_sequence);
        return;
    }
}

template <class Json> std::string make_sort_key(const Json& value)
{
    std::string key;
    append_value(key, value);
    return key;
}

} // namespace

int collate(const nlohmann::json& a, const nlohmann::json& b)
{
    return compare(a, b);
}

int collate(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b)
{
    return compare(a, b);
}

int collate_raw(std::string_view a, std::string_view b) noexcept
{
    // char_traits<char> compares as unsigned char, so this is byte order.
    return sign(a.compare(b));
}

std::string sort_key(const nlohmann::json& value)
{
    return make_sort_key(value);
}

std::string sort_key(const nlohmann::ordered_json& value)
{
    return make_sort_key(value);
}

} // namespace edw
