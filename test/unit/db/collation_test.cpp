// Collation tests: CouchDB's documented view key order, and sort keys that agree with it.
#include "edw/db/collation.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Orders two sort keys as an SQLite BLOB column does: memcmp over the shorter length, then length.
int key_order(const std::string& a, const std::string& b)
{
    const int bytes = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    if (bytes != 0) {
        return bytes < 0 ? -1 : 1;
    }
    return (a.size() > b.size()) - (a.size() < b.size());
}

template <class Json> int sign_of_collate(const Json& a, const Json& b)
{
    const int result = edw::collate(a, b);
    return (result > 0) - (result < 0);
}

// Checks that `values` is strictly ascending for collate() and for sort keys, pair by pair.
template <class Json> void check_ascending(const std::vector<Json>& values)
{
    for (std::size_t i = 0; i < values.size(); ++i) {
        CHECK_MESSAGE(edw::collate(values[i], values[i]) == 0, values[i].dump());
        for (std::size_t j = i + 1; j < values.size(); ++j) {
            INFO(values[i].dump(), " < ", values[j].dump());
            CHECK(edw::collate(values[i], values[j]) < 0);
            CHECK(edw::collate(values[j], values[i]) > 0);
            CHECK(key_order(edw::sort_key(values[i]), edw::sort_key(values[j])) < 0);
        }
    }
}

// Checks that collate() and sort keys both call `a` and `b` equal.
template <class Json> void check_equal(const Json& a, const Json& b)
{
    INFO(a.dump(), " == ", b.dump());
    CHECK(edw::collate(a, b) == 0);
    CHECK(edw::collate(b, a) == 0);
    CHECK(edw::sort_key(a) == edw::sort_key(b));
}

std::vector<ordered_json> parse_all(const std::vector<const char*>& texts)
{
    std::vector<ordered_json> values;
    for (const char* text : texts) {
        values.push_back(ordered_json::parse(text));
    }
    return values;
}

std::vector<json> strings(const std::vector<std::string>& texts)
{
    return {texts.begin(), texts.end()};
}

// Random JSON values that often share prefixes, members and near-equal strings and numbers, so
// that comparisons reach deep into arrays and objects.
class RandomJson {
public:
    explicit RandomJson(std::uint32_t seed)
        : m_random(seed)
    {}

    ordered_json value(int depth)
    {
        switch (pick(depth > 0 ? 9 : 7)) {
        case 0:
            return nullptr;
        case 1:
            return pick(2) == 0;
        case 2:
        case 3:
            return number();
        case 4:
        case 5:
        case 6:
            return text();
        case 7: {
            ordered_json array = ordered_json::array();
            for (int i = pick(4); i > 0; --i) {
                array.push_back(value(depth - 1));
            }
            return array;
        }
        default: {
            ordered_json object = ordered_json::object();
            for (int i = pick(4); i > 0; --i) {
                object[text()] = value(depth - 1);
            }
            return object;
        }
        }
    }

private:
    int pick(int count) { return std::uniform_int_distribution<int>(0, count - 1)(m_random); }

    ordered_json number()
    {
        static const std::vector<ordered_json> numbers = {
            0,
            -0.0,
            0.0,
            1,
            1.0,
            -1,
            2.5,
            -2.5,
            3,
            1e300,
            -1e300,
            1e-300,
            -1e-300,
            4.9e-324,
            -4.9e-324,
            1.5,
            INT64_MAX,
            INT64_MIN,
            UINT64_MAX,
            9007199254740993LL,
            -7,
            std::numeric_limits<double>::quiet_NaN(),
            std::numeric_limits<double>::infinity(),
        };
        return numbers[static_cast<std::size_t>(pick(static_cast<int>(numbers.size())))];
    }

    std::string text()
    {
        // Case pairs, an accent both precomposed and combining, punctuation, digits, an ignorable
        // control, a supplementary character, CJK, the U+FFF0 range end and ill-formed UTF-8.
        static const std::vector<std::string> pieces = {
            "a", "A", "b",  "B", "e",      "\u00e9", "e\u0301", "-",          "_",      " ",
            "0", "9", "10", "~", "\u0001", "\u007f", "\u4e2d",  "\U0001F600", "\ufff0", "\xff",
        };
        std::string result;
        for (int i = pick(4); i > 0; --i) {
            result += pieces[static_cast<std::size_t>(pick(static_cast<int>(pieces.size())))];
        }
        return result;
    }

    std::mt19937 m_random;
};

} // namespace

TEST_SUITE_BEGIN("collation");

TEST_CASE("the ordering listed in the CouchDB collation docs is reproduced")
{
    // https://docs.couchdb.org/en/stable/ddocs/views/collation.html#collation-specification
    check_ascending(parse_all({
        "null",
        "false",
        "true",
        "1",
        "2",
        "3.0",
        "4",
        R"("a")",
        R"("A")",
        R"("aa")",
        R"("b")",
        R"("B")",
        R"("ba")",
        R"("bb")",
        R"(["a"])",
        R"(["b"])",
        R"(["b","c"])",
        R"(["b","c","a"])",
        R"(["b","d"])",
        R"(["b","d","e"])",
        R"({"a":1})",
        R"({"a":2})",
        R"({"b":1})",
        R"({"b":2})",
        R"({"b":2,"a":1})",
        R"({"b":2,"c":2})",
    }));
}

TEST_CASE("objects compare member order, which only ordered_json keeps")
{
    const auto ordered = ordered_json::parse(R"({"b":2,"a":1})");
    CHECK(edw::collate(ordered, ordered_json::parse(R"({"a":1,"b":2})")) > 0);
    CHECK(edw::collate(ordered, ordered_json::parse(R"({"b":2})")) > 0);

    // nlohmann::json sorts members by key, so the same text compares as {"a":1,"b":2}.
    const auto sorted = json::parse(R"({"b":2,"a":1})");
    check_equal(sorted, json::parse(R"({"a":1,"b":2})"));
    CHECK(edw::collate(sorted, json::parse(R"({"a":2})")) < 0);
    CHECK(key_order(edw::sort_key(sorted), edw::sort_key(json::parse(R"({"a":2})"))) < 0);
}

TEST_CASE("ASCII characters sort in ICU's root order, symbols before digits before letters")
{
    // The CouchDB docs list ` and ^ first, as older ICU versions sorted them; CLDR root sorts
    // them among the other symbols. Space leads; DEL is ignorable and is left out here.
    std::vector<std::string> texts;
    for (const char c : std::string(" _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789"
                                    "aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxXyYzZ")) {
        texts.emplace_back(1, c);
    }
    REQUIRE(texts.size() == 127 - 32);
    check_ascending(strings(texts));
}

TEST_CASE("string key ranges behave as the CouchDB docs describe")
{
    check_ascending(strings({"abc", "Abc", "ABC", "abc1", "AbcZZZZZ"}));
    check_ascending(strings({"a", "AA"}));
    // An accent outweighs case, which only breaks ties.
    check_ascending(strings({"e", "E", "\u00e9", "\u00c9", "f"}));
    check_ascending(strings({"10", "9"})); // digits are not read as numbers
    // "\ufff0" closes a prefix range above CJK and emoji.
    check_ascending(strings({"abc", "abc\U0001F600", "abc\u4e2d", "abc\ufff0", "abd"}));
}

TEST_CASE("a complex key range [k] to [k, {}] holds every array key starting with k but objects")
{
    const auto low = ordered_json::parse(R"(["move_to_sps"])");
    const auto high = ordered_json::parse(R"(["move_to_sps", {}])");
    for (const char* text :
         {R"(["move_to_sps", null])", R"(["move_to_sps", false])", R"(["move_to_sps", -1e300])",
          R"(["move_to_sps", 1e300])", R"(["move_to_sps", ""])", R"(["move_to_sps", "\ufff0"])",
          R"(["move_to_sps", []])", R"(["move_to_sps", [{}]])", R"(["move_to_sps", "x", {"a": 1}])",
          R"(["move_to_sps", null, 1])"}) {
        check_ascending(std::vector<ordered_json>{low, ordered_json::parse(text), high});
    }
    // A non-empty object is above {}, so it falls outside the range, as the docs warn.
    check_ascending(parse_all({R"(["move_to_sps", {}])", R"(["move_to_sps", {"a": 1}])",
                               R"(["move_to_sps2"])", R"(["move_to_sps2", 0])"}));
    // A plain string is below every array, whatever it says.
    check_ascending(parse_all({R"("move_to_sps2")", R"(["move_to_sps"])"}));
}

TEST_CASE("numbers sort by value before every string, including across int and double")
{
    check_ascending(std::vector<json>{nullptr,
                                      true,
                                      -std::numeric_limits<double>::max(),
                                      INT64_MIN,
                                      -1e18,
                                      -2.5,
                                      -1,
                                      -4.9e-324,
                                      0,
                                      4.9e-324,
                                      1e-300,
                                      0.5,
                                      1,
                                      1.5,
                                      2,
                                      1e18,
                                      INT64_MAX,
                                      UINT64_MAX,
                                      1e300,
                                      std::numeric_limits<double>::max(),
                                      "",
                                      "0",
                                      "1",
                                      "a",
                                      json::array(),
                                      json::object()});
    CHECK(edw::collate(json(0), json("0")) < 0);
}

TEST_CASE("equal numbers collate equal whatever their representation, -0.0 included")
{
    check_equal(json(-0.0), json(0.0));
    check_equal(json(-0.0), json(0));
    check_equal(json(3), json(3.0));
    check_equal(json(3), json(3U));
    check_equal(json(-7), json(-7.0));
    check_equal(json::array({-0.0, 1}), json::array({0U, 1.0}));
    // Beyond 2^53 integers compare as the doubles JavaScript would hold.
    check_equal(json(9007199254740993LL), json(9007199254740992LL));
}

TEST_CASE("NaN and infinities collate as null, as they are written in JSON")
{
    check_equal(json(std::numeric_limits<double>::quiet_NaN()), json(nullptr));
    check_equal(json(std::numeric_limits<double>::infinity()), json(nullptr));
    check_equal(json(-std::numeric_limits<double>::infinity()), json(nullptr));
    CHECK(edw::collate(json(std::numeric_limits<double>::infinity()), json(false)) < 0);
}

TEST_CASE("equal values collate equal and share a sort key")
{
    check_equal(json(nullptr), json(nullptr));
    check_equal(json(true), json(true));
    check_equal(json(""), json(""));
    check_equal(json("déjà vu"), json("déjà vu"));
    check_equal(json::parse(R"([1, "a", [null, {"k": [true]}]])"),
                json::parse(R"([1.0, "a", [null, {"k": [true]}]])"));
    check_equal(ordered_json::parse(R"({"z": {}, "a": []})"),
                ordered_json::parse(R"({"z": {}, "a": []})"));
    check_equal(json::array(), json::array());
    check_equal(json::object(), json::object());
}

TEST_CASE("strings differing only in ignorable controls collate equal, as in CouchDB")
{
    check_equal(json("a\u0001b"), json("ab"));
    check_equal(json("apricot\u007f"), json("apricot"));
    check_equal(json::array({"x\u0000", 1}), json::array({"x", 1}));
}

TEST_CASE("a canonically equivalent accent collates equal precomposed or combining")
{
    check_equal(json("caf\u00e9"), json("cafe\u0301"));
}

TEST_CASE("ill-formed UTF-8 collates as U+FFFD, which sorts high")
{
    check_equal(json("\xff"), json("\ufffd"));
    check_ascending(strings({"\u4e2d", "\ufff0", "\xff\xff\xff\xff", "\uffff"}));
}

TEST_CASE("binary and discarded values are refused as not JSON")
{
    const auto binary = json::binary({1, 2, 3});
    CHECK_THROWS_WITH_AS(edw::collate(binary, json(1)), doctest::Contains("binary"),
                         edw::JsonError);
    CHECK_THROWS_AS(edw::sort_key(json::array({1, binary})), edw::JsonError);
    CHECK_THROWS_AS(edw::sort_key(json(json::value_t::discarded)), edw::JsonError);
}

TEST_CASE("raw collation orders document ids by UTF-8 bytes, a prefix first")
{
    CHECK(edw::collate_raw("", "") == 0);
    CHECK(edw::collate_raw("abc", "abc") == 0);
    CHECK(edw::collate_raw("", "a") == -1);
    CHECK(edw::collate_raw("a", "") == 1);
    CHECK(edw::collate_raw("B", "a") == -1); // ASCII, not ICU: "a" < "B" in views
    CHECK(edw::collate_raw("_design/ZZZZZZZZ", "_design/abc") == -1);
    CHECK(edw::collate_raw("_design/abc", "_design0") == -1);
    CHECK(edw::collate_raw("\x7f", "\u00e9") == -1); // bytes compare unsigned
    // Code point order, not UTF-16 order: U+FFFF is below U+10000.
    CHECK(edw::collate_raw("\uffff", "\U00010000") == -1);
}

TEST_CASE("sort keys order random nested values exactly as collate does")
{
    RandomJson random(20240611);
    std::vector<ordered_json> values;
    for (int i = 0; i < 3000; ++i) {
        values.push_back(random.value(3));
    }
    std::vector<std::string> keys;
    for (const auto& value : values) {
        keys.push_back(edw::sort_key(value));
    }

    std::mt19937 pairs(7);
    std::uniform_int_distribution<std::size_t> index(0, values.size() - 1);
    int mismatches = 0;
    int ties = 0;
    for (int n = 0; n < 20000; ++n) {
        const std::size_t i = index(pairs);
        const std::size_t j = index(pairs);
        const int by_collate = sign_of_collate(values[i], values[j]);
        const int by_key = key_order(keys[i], keys[j]);
        ties += by_collate == 0 ? 1 : 0;
        if (by_collate != by_key || sign_of_collate(values[j], values[i]) != -by_collate) {
            ++mismatches;
            INFO(values[i].dump(), " vs ", values[j].dump());
            CHECK(by_collate == by_key);
            CHECK(sign_of_collate(values[j], values[i]) == -by_collate);
        }
    }
    CHECK(mismatches == 0);
    CHECK(ties > 0); // the generator does produce collation-equal values

    // Prefix pairs: an array against itself with one more element.
    for (std::size_t i = 0; i < 500; ++i) {
        ordered_json shorter = ordered_json::array({values[i]});
        ordered_json longer = shorter;
        longer.push_back(values[i + 1]);
        CHECK(edw::collate(shorter, longer) < 0);
        CHECK(key_order(edw::sort_key(shorter), edw::sort_key(longer)) < 0);
    }
}

TEST_CASE("collate is a total order on a sample sorted by sort key")
{
    RandomJson random(42);
    std::vector<std::pair<std::string, ordered_json>> sample;
    for (int i = 0; i < 400; ++i) {
        auto value = random.value(2);
        sample.emplace_back(edw::sort_key(value), std::move(value));
    }
    std::sort(sample.begin(), sample.end(),
              [](const auto& a, const auto& b) { return key_order(a.first, b.first) < 0; });

    // Agreeing with a sorted sequence pair by pair makes collate antisymmetric and transitive.
    int violations = 0;
    for (std::size_t i = 0; i < sample.size(); ++i) {
        for (std::size_t j = i; j < sample.size(); ++j) {
            const int expected = key_order(sample[i].first, sample[j].first);
            if (sign_of_collate(sample[i].second, sample[j].second) != expected ||
                sign_of_collate(sample[j].second, sample[i].second) != -expected) {
                ++violations;
            }
        }
    }
    CHECK(violations == 0);
}

TEST_SUITE_END();
