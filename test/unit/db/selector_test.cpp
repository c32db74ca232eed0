// Selector tests: Mango selectors matched locally as CouchDB 3 matches them, and refused as it
// does.
#include "edw/db/selector.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

namespace {

using nlohmann::json;

// Whether the selector, given as JSON text, matches the document, given as JSON text.
bool matches(const std::string& selector, const std::string& doc)
{
    return edw::Selector(json::parse(selector)).matches(json::parse(doc));
}

// Constructs the selector, given as JSON text, for the exception it throws.
void compile(const std::string& selector)
{
    const edw::Selector compiled(json::parse(selector));
    static_cast<void>(compiled);
}

} // namespace

TEST_SUITE_BEGIN("selector");

TEST_CASE("an empty selector matches every document")
{
    CHECK(matches("{}", R"({"_id": "a"})"));
    CHECK(matches("{}", "{}"));
    CHECK(matches("{}", "[1]"));
}

TEST_CASE("a doc that is not an object matches no other selector")
{
    CHECK_FALSE(matches(R"({"0": 1})", "[1]"));
    CHECK_FALSE(matches(R"({"a": {"$exists": false}})", "5"));
    CHECK(matches(R"({"a": {"$exists": false}})", "{}"));
}

TEST_CASE("a bare value is an implicit $eq and compares by collation")
{
    CHECK(matches(R"({"type": "run"})", R"({"type": "run"})"));
    CHECK_FALSE(matches(R"({"type": "run"})", R"({"type": "runs"})"));
    CHECK(matches(R"({"n": 3})", R"({"n": 3.0})"));
    CHECK_FALSE(matches(R"({"n": 3})", R"({"n": "3"})"));
    CHECK(matches(R"({"tags": ["a", "b"]})", R"({"tags": ["a", "b"]})"));
    CHECK_FALSE(matches(R"({"tags": ["a", "b"]})", R"({"tags": ["b", "a"]})"));
    CHECK(matches(R"({"v": null})", R"({"v": null})"));
    CHECK_FALSE(matches(R"({"v": null})", "{}"));
}

TEST_CASE("several members must all hold")
{
    const std::string selector = R"({"type": "run", "status": "done"})";
    CHECK(matches(selector, R"({"type": "run", "status": "done"})"));
    CHECK_FALSE(matches(selector, R"({"type": "run", "status": "new"})"));
    CHECK_FALSE(matches(selector, R"({"type": "run"})"));
}

TEST_CASE("nested objects and dotted names both reach nested fields")
{
    const std::string doc = R"({"meta": {"owner": {"name": "ada"}, "size": 7}})";
    CHECK(matches(R"({"meta.owner.name": "ada"})", doc));
    CHECK(matches(R"({"meta": {"owner": {"name": "ada"}}})", doc));
    CHECK(matches(R"({"meta": {"owner.name": "ada", "size": {"$gt": 5}}})", doc));
    CHECK_FALSE(matches(R"({"meta": {"owner": {"name": "bob"}}})", doc));
    CHECK_FALSE(matches(R"({"meta.size": {"$lt": 5}})", doc));
    // Operators and field names can share an object.
    CHECK(matches(R"({"meta": {"$exists": true, "size": 7}})", doc));
    CHECK_FALSE(matches(R"({"meta": {"$type": "array", "size": 7}})", doc));
}

TEST_CASE("a backslash before a dot makes it part of the field name")
{
    CHECK(matches(R"({"a\\.b": 1})", R"({"a.b": 1})"));
    CHECK_FALSE(matches(R"({"a\\.b": 1})", R"({"a": {"b": 1}})"));
    CHECK(matches(R"({"x.a\\.b": 1})", R"({"x": {"a.b": 1}})"));
    CHECK_FALSE(matches(R"({"a.b": 1})", R"({"a.b": 1})"));
}

TEST_CASE("an integer in a path indexes an array")
{
    const std::string doc = R"({"tags": ["x", {"k": "y"}]})";
    CHECK(matches(R"({"tags.0": "x"})", doc));
    CHECK(matches(R"({"tags.1.k": "y"})", doc));
    CHECK_FALSE(matches(R"({"tags.1": "x"})", doc));
    CHECK_FALSE(matches(R"({"tags.2": {"$exists": false}})", doc)); // past the end: a bad path
    // The index reads as Erlang's list_to_integer/1 reads it: leading zeros and a sign allowed.
    CHECK(matches(R"({"tags.01.k": "y"})", doc));
    CHECK(matches(R"({"tags.+1.k": "y"})", doc));
    CHECK_FALSE(matches(R"({"tags.-1": {"$type": "object"}})", doc));
    CHECK_FALSE(matches(R"({"tags.k": "y"})", doc));
}

TEST_CASE("comparison operators hold and fail by collation")
{
    const std::string doc = R"({"n": 5, "s": "b"})";
    CHECK(matches(R"({"n": {"$eq": 5}})", doc));
    CHECK_FALSE(matches(R"({"n": {"$eq": 6}})", doc));
    CHECK(matches(R"({"n": {"$ne": 6}})", doc));
    CHECK_FALSE(matches(R"({"n": {"$ne": 5}})", doc));
    CHECK(matches(R"({"n": {"$gt": 4}})", doc));
    CHECK_FALSE(matches(R"({"n": {"$gt": 5}})", doc));
    CHECK(matches(R"({"n": {"$gte": 5}})", doc));
    CHECK_FALSE(matches(R"({"n": {"$gte": 5.5}})", doc));
    CHECK(matches(R"({"n": {"$lt": 5.5}})", doc));
    CHECK_FALSE(matches(R"({"n": {"$lt": 5}})", doc));
    CHECK(matches(R"({"n": {"$lte": 5}})", doc));
    CHECK_FALSE(matches(R"({"n": {"$lte": 4}})", doc));
    CHECK(matches(R"({"n": {"$gt": 1, "$lt": 10}})", doc));
    CHECK_FALSE(matches(R"({"n": {"$gt": 1, "$lt": 5}})", doc));
    // Strings use the Unicode Collation Algorithm, so lower case sorts before upper case.
    CHECK(matches(R"({"s": {"$gt": "a", "$lt": "c"}})", doc));
    CHECK(matches(R"({"s": {"$gt": "B"}})", R"({"s": "c"})"));
    CHECK(matches(R"({"s": {"$lt": "B"}})", R"({"s": "a"})"));
}

TEST_CASE("comparisons across types follow the view collation order")
{
    // null < false < true < numbers < strings < arrays < objects
    CHECK(matches(R"({"v": {"$gt": 5}})", R"({"v": "abc"})"));
    CHECK_FALSE(matches(R"({"v": {"$lt": 5}})", R"({"v": "abc"})"));
    CHECK(matches(R"({"v": {"$lt": 0}})", R"({"v": true})"));
    CHECK(matches(R"({"v": {"$lt": false}})", R"({"v": null})"));
    CHECK(matches(R"({"v": {"$gt": "zzz"}})", R"({"v": [1]})"));
    CHECK(matches(R"({"v": {"$gt": [9, 9]}})", R"({"v": {"a": 1}})"));
    CHECK(matches(R"({"v": {"$gt": null}})", R"({"v": false})"));
    CHECK_FALSE(matches(R"({"v": {"$gt": null}})", R"({"v": null})"));
}

TEST_CASE("_id compares by code point, as CouchDB compares document ids")
{
    // By collation "a" < "B"; by code point 'B' (0x42) < 'a' (0x61).
    CHECK_FALSE(matches(R"({"_id": {"$lt": "B"}})", R"({"_id": "a"})"));
    CHECK(matches(R"({"_id": {"$gt": "B"}})", R"({"_id": "a"})"));
    CHECK(matches(R"({"other": {"$lt": "B"}})", R"({"other": "a"})"));
    // The usual "every document" selector still holds, strings sorting after non-strings.
    CHECK(matches(R"({"_id": {"$gt": null}})", R"({"_id": "x"})"));
    CHECK(matches(R"({"_id": {"$in": ["x", "y"]}})", R"({"_id": "y"})"));
    CHECK_FALSE(matches(R"({"_id": "X"})", R"({"_id": "x"})"));
}

TEST_CASE("a missing field fails every condition but $exists false")
{
    const std::string doc = R"({"other": 1})";
    CHECK(matches(R"({"a": {"$exists": false}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$exists": true}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$eq": null}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$ne": 1}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$gt": null}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$lte": 1}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$in": [null, 1]}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$nin": [1]}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$type": "null"}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$size": 0}})", doc));
    CHECK_FALSE(matches(R"({"a": {"$regex": ""}})", doc));
    CHECK_FALSE(matches(R"({"a.b": 1})", doc));
    CHECK(matches(R"({"a.b": {"$exists": false}})", doc));
}

TEST_CASE("negations stay on the field, so a missing field fails them too")
{
    const std::string doc = R"({"other": 1})";
    CHECK_FALSE(matches(R"({"a": {"$not": {"$gt": 3}}})", doc));
    CHECK_FALSE(matches(R"({"$not": {"a": 3}})", doc));
    CHECK_FALSE(matches(R"({"$nor": [{"a": 3}]})", doc));
    CHECK_FALSE(matches(R"({"a": {"$not": {"$regex": "x"}}})", doc));
    // Negating $exists flips it, which a missing field does pass.
    CHECK(matches(R"({"a": {"$not": {"$exists": true}}})", doc));
    CHECK(matches(R"({"$not": {"a": {"$exists": true}}})", doc));
    CHECK_FALSE(matches(R"({"$not": {"$not": {"a": {"$exists": true}}}})", doc));
    // De Morgan: not (a = 1 and other = 1) is (a != 1 or other != 1); a is missing, other is 1.
    CHECK_FALSE(matches(R"({"$not": {"a": 1, "other": 1}})", doc));
    CHECK(matches(R"({"$not": {"a": 1, "other": 2}})", doc));
}

TEST_CASE("a path through a scalar fails even $exists false")
{
    CHECK_FALSE(matches(R"({"a.b": {"$exists": false}})", R"({"a": 5})"));
    CHECK_FALSE(matches(R"({"a.b": {"$exists": false}})", R"({"a": [1]})"));
    CHECK(matches(R"({"a.b": {"$exists": false}})", R"({"a": {}})"));
}

TEST_CASE("$exists tells present fields, null ones included, from missing ones")
{
    CHECK(matches(R"({"a": {"$exists": true}})", R"({"a": null})"));
    CHECK_FALSE(matches(R"({"a": {"$exists": false}})", R"({"a": null})"));
    CHECK(matches(R"({"a": {"$exists": true}})", R"({"a": {"b": 1}})"));
}

TEST_CASE("$type names the JSON type of the field")
{
    CHECK(matches(R"({"a": {"$type": "null"}})", R"({"a": null})"));
    CHECK(matches(R"({"a": {"$type": "boolean"}})", R"({"a": false})"));
    CHECK(matches(R"({"a": {"$type": "number"}})", R"({"a": -2})"));
    CHECK(matches(R"({"a": {"$type": "number"}})", R"({"a": 2.5})"));
    CHECK(matches(R"({"a": {"$type": "number"}})", R"({"a": 18446744073709551615})"));
    CHECK(matches(R"({"a": {"$type": "string"}})", R"({"a": ""})"));
    CHECK(matches(R"({"a": {"$type": "array"}})", R"({"a": []})"));
    CHECK(matches(R"({"a": {"$type": "object"}})", R"({"a": {}})"));
    CHECK_FALSE(matches(R"({"a": {"$type": "string"}})", R"({"a": 1})"));
    CHECK_FALSE(matches(R"({"a": {"$type": "integer"}})", R"({"a": 1})"));
}

TEST_CASE("$in and $nin test the value, or any element of an array value")
{
    CHECK(matches(R"({"a": {"$in": [1, "x"]}})", R"({"a": "x"})"));
    CHECK(matches(R"({"a": {"$in": [1, "x"]}})", R"({"a": 1.0})"));
    CHECK_FALSE(matches(R"({"a": {"$in": [1, "x"]}})", R"({"a": 2})"));
    CHECK(matches(R"({"a": {"$in": [3, 4]}})", R"({"a": [1, 4]})"));
    CHECK_FALSE(matches(R"({"a": {"$in": [3, 4]}})", R"({"a": [1, 2]})"));
    CHECK_FALSE(matches(R"({"a": {"$in": [[1, 2]]}})", R"({"a": [1, 2]})")); // elements only
    CHECK_FALSE(matches(R"({"a": {"$in": []}})", R"({"a": 1})"));
    CHECK(matches(R"({"a": {"$nin": [1, 2]}})", R"({"a": 3})"));
    CHECK_FALSE(matches(R"({"a": {"$nin": [1, 2]}})", R"({"a": 2})"));
    CHECK(matches(R"({"a": {"$nin": [3, 4]}})", R"({"a": [1, 2]})"));
    CHECK_FALSE(matches(R"({"a": {"$nin": [3, 4]}})", R"({"a": [1, 4]})"));
    CHECK(matches(R"({"a": {"$nin": []}})", R"({"a": 1})"));
}

TEST_CASE("$size matches arrays of that length only")
{
    CHECK(matches(R"({"a": {"$size": 2}})", R"({"a": [1, [2, 3]]})"));
    CHECK_FALSE(matches(R"({"a": {"$size": 3}})", R"({"a": [1, [2, 3]]})"));
    CHECK(matches(R"({"a": {"$size": 0}})", R"({"a": []})"));
    CHECK_FALSE(matches(R"({"a": {"$size": 2}})", R"({"a": "ab"})"));
    CHECK_FALSE(matches(R"({"a": {"$size": 1}})", R"({"a": {"k": 1}})"));
}

TEST_CASE("$mod takes the sign of the dividend and needs an integer field")
{
    CHECK(matches(R"({"a": {"$mod": [4, 2]}})", R"({"a": 10})"));
    CHECK_FALSE(matches(R"({"a": {"$mod": [4, 1]}})", R"({"a": 10})"));
    CHECK(matches(R"({"a": {"$mod": [4, -2]}})", R"({"a": -10})"));
    CHECK_FALSE(matches(R"({"a": {"$mod": [4, 2]}})", R"({"a": -10})"));
    CHECK(matches(R"({"a": {"$mod": [-4, 2]}})", R"({"a": 10})"));
    CHECK_FALSE(matches(R"({"a": {"$mod": [4, 2]}})", R"({"a": 10.0})"));
    CHECK_FALSE(matches(R"({"a": {"$mod": [4, 2]}})", R"({"a": "10"})"));
    CHECK(matches(R"({"a": {"$mod": [-1, 0]}})", R"({"a": -9223372036854775808})"));
    CHECK(matches(R"({"a": {"$mod": [10, 5]}})", R"({"a": 18446744073709551615})"));
    CHECK(matches(R"({"a": {"$mod": [-10, 5]}})", R"({"a": 18446744073709551615})"));
}

TEST_CASE("$regex searches string fields")
{
    CHECK(matches(R"({"a": {"$regex": "^ma[0-9]+"}})", R"({"a": "ma22a000"})"));
    CHECK(matches(R"({"a": {"$regex": "22a"}})", R"({"a": "ma22a000"})")); // not anchored
    CHECK_FALSE(matches(R"({"a": {"$regex": "^22"}})", R"({"a": "ma22a000"})"));
    CHECK_FALSE(matches(R"({"a": {"$regex": "1"}})", R"({"a": 1})"));
    CHECK_FALSE(matches(R"({"a": {"$regex": "^MA"}})", R"({"a": "ma22"})"));
    CHECK(matches(R"({"a": {"$regex": "(?i)^MA"}})", R"({"a": "ma22"})"));
    CHECK(matches(R"({"a": {"$regex": ""}})", R"({"a": "anything"})"));
    CHECK(matches(R"({"a": {"$regex": "^\\p{Lu}\\d+$"}})", R"({"a": "Ä42"})"));
    CHECK_FALSE(matches(R"({"a": {"$regex": "^\\p{Lu}\\d+$"}})", R"({"a": "ä42"})"));
    CHECK(matches(R"({"a": {"$not": {"$regex": "^x"}}})", R"({"a": "ma22"})"));
}

TEST_CASE("$regex copes with long strings and gives up on runaway patterns")
{
    const json doc = {{"a", std::string(2'000'000, 'a') + "z"}};
    CHECK(edw::Selector(json::parse(R"({"a": {"$regex": "a+z$"}})")).matches(doc));
    CHECK_FALSE(edw::Selector(json::parse(R"({"a": {"$regex": "^b"}})")).matches(doc));
    // Exponential backtracking: CouchDB counts a search that hits its limit as no match.
    const json runaway = {{"a", std::string(40, 'a')}};
    CHECK_FALSE(edw::Selector(json::parse(R"({"a": {"$regex": "(a+)+b"}})")).matches(runaway));
}

TEST_CASE("$beginsWith matches string prefixes")
{
    CHECK(matches(R"({"a": {"$beginsWith": "ma2"}})", R"({"a": "ma22"})"));
    CHECK_FALSE(matches(R"({"a": {"$beginsWith": "a2"}})", R"({"a": "ma22"})"));
    CHECK_FALSE(matches(R"({"a": {"$beginsWith": "1"}})", R"({"a": 12})"));
}

TEST_CASE("$elemMatch needs one array element to match the sub-selector")
{
    CHECK(matches(R"({"a": {"$elemMatch": {"$gt": 3}}})", R"({"a": [1, 5]})"));
    CHECK_FALSE(matches(R"({"a": {"$elemMatch": {"$gt": 5}}})", R"({"a": [1, 5]})"));
    CHECK(matches(R"({"a": {"$elemMatch": {"$gte": 2, "$lt": 4}}})", R"({"a": [1, 3, 5]})"));
    CHECK_FALSE(matches(R"({"a": {"$elemMatch": {"$gte": 2, "$lt": 3}}})", R"({"a": [1, 3, 5]})"));
    const std::string people = R"({"people": [{"name": "x", "age": 3}, {"name": "y", "age": 9}]})";
    CHECK(matches(R"({"people": {"$elemMatch": {"name": "y", "age": {"$gt": 5}}}})", people));
    CHECK_FALSE(matches(R"({"people": {"$elemMatch": {"name": "x", "age": {"$gt": 5}}}})", people));
    CHECK_FALSE(matches(R"({"a": {"$elemMatch": {"$gt": 3}}})", R"({"a": []})"));
    CHECK_FALSE(matches(R"({"a": {"$elemMatch": {"$gt": 3}}})", R"({"a": 5})"));
    // Elements that are not objects fail field conditions rather than breaking the match.
    CHECK(matches(R"({"a": {"$elemMatch": {"k": 1}}})", R"({"a": [7, {"k": 1}]})"));
}

TEST_CASE("$allMatch needs every element of a non-empty array to match")
{
    CHECK(matches(R"({"a": {"$allMatch": {"$gt": 0}}})", R"({"a": [1, 5]})"));
    CHECK_FALSE(matches(R"({"a": {"$allMatch": {"$gt": 1}}})", R"({"a": [1, 5]})"));
    CHECK_FALSE(matches(R"({"a": {"$allMatch": {"$gt": 0}}})", R"({"a": []})"));
    CHECK_FALSE(matches(R"({"a": {"$allMatch": {"$gt": 0}}})", R"({"a": 5})"));
}

TEST_CASE("$keyMapMatch needs one key of an object to match")
{
    CHECK(matches(R"({"a": {"$keyMapMatch": {"$eq": "k2"}}})", R"({"a": {"k1": 1, "k2": 2}})"));
    CHECK_FALSE(matches(R"({"a": {"$keyMapMatch": {"$eq": "k3"}}})", R"({"a": {"k1": 1}})"));
    CHECK_FALSE(matches(R"({"a": {"$keyMapMatch": {"$eq": "0"}}})", R"({"a": ["x"]})"));
}

TEST_CASE("$all needs every argument in the array, or the one argument to be the array")
{
    CHECK(matches(R"({"a": {"$all": ["x", "z"]}})", R"({"a": ["x", "y", "z"]})"));
    CHECK_FALSE(matches(R"({"a": {"$all": ["x", "w"]}})", R"({"a": ["x", "y", "z"]})"));
    CHECK_FALSE(matches(R"({"a": {"$all": []}})", R"({"a": ["x"]})"));
    CHECK(matches(R"({"a": {"$all": [[1, 2]]}})", R"({"a": [1, 2]})"));
    CHECK(matches(R"({"a": {"$all": [[1, 2]]}})", R"({"a": [[1, 2], 3]})"));
    CHECK_FALSE(matches(R"({"a": {"$all": ["x"]}})", R"({"a": "x"})"));
}

TEST_CASE("$and, $or and $nor combine sub-selectors")
{
    const std::string doc = R"({"a": 1, "b": 2})";
    CHECK(matches(R"({"$and": [{"a": 1}, {"b": 2}]})", doc));
    CHECK_FALSE(matches(R"({"$and": [{"a": 1}, {"b": 3}]})", doc));
    CHECK(matches(R"({"$or": [{"a": 9}, {"b": 2}]})", doc));
    CHECK_FALSE(matches(R"({"$or": [{"a": 9}, {"b": 9}]})", doc));
    CHECK(matches(R"({"$nor": [{"a": 9}, {"b": 9}]})", doc));
    CHECK_FALSE(matches(R"({"$nor": [{"a": 9}, {"b": 2}]})", doc));
    CHECK(matches(R"({"$not": {"a": 9}})", doc));
    CHECK_FALSE(matches(R"({"$not": {"a": 1}})", doc));
    CHECK(matches(R"({"$not": {"$or": [{"a": 9}, {"b": 9}]}})", doc));
    CHECK_FALSE(matches(R"({"$not": {"$nor": [{"a": 9}, {"b": 9}]}})", doc));
    CHECK(matches(R"({"a": 1, "$or": [{"b": 9}, {"b": {"$gt": 1}}]})", doc));
    // CouchDB 3 treats an empty $and or $or as true.
    CHECK(matches(R"({"$and": []})", doc));
    CHECK(matches(R"({"$or": []})", doc));
}

TEST_CASE("combination operators inside a field apply to that field")
{
    CHECK(matches(R"({"a": {"$or": [1, {"$gt": 10}]}})", R"({"a": 11})"));
    CHECK(matches(R"({"a": {"$or": [1, {"$gt": 10}]}})", R"({"a": 1})"));
    CHECK_FALSE(matches(R"({"a": {"$or": [1, {"$gt": 10}]}})", R"({"a": 5})"));
    CHECK(matches(R"({"a": {"$not": {"$gt": 3}}})", R"({"a": 2})"));
    CHECK_FALSE(matches(R"({"a": {"$not": {"$gt": 3}}})", R"({"a": 4})"));
    CHECK(matches(R"({"a": {"$nor": [{"$lt": 0}, {"$gt": 10}]}})", R"({"a": 5})"));
    CHECK_FALSE(matches(R"({"a": {"$nor": [{"$lt": 0}, {"$gt": 10}]}})", R"({"a": 50})"));
}

TEST_CASE("a nested empty object means equals {}")
{
    CHECK(matches(R"({"a": {}})", R"({"a": {}})"));
    CHECK_FALSE(matches(R"({"a": {}})", R"({"a": {"b": 1}})"));
}

TEST_CASE("a copy of a selector outlives the original")
{
    std::optional<edw::Selector> original(std::in_place, json::parse(R"({"a": {"$regex": "^x"}})"));
    const edw::Selector copy = *original;
    original.reset();
    CHECK(copy.matches(json::parse(R"({"a": "xy"})")));
    CHECK_FALSE(copy.matches(json::parse(R"({"a": "yx"})")));
    CHECK_FALSE(copy.matches(json::parse(R"(["xy"])")));
}

TEST_CASE("threads can share a selector")
{
    const edw::Selector selector(json::parse(R"({"a": {"$regex": "^x+y$"}})"));
    const json yes = {{"a", "xxxy"}};
    const json no = {{"a", "xxxz"}};
    std::atomic<int> wrong{0};
    const auto work = [&] {
        for (int i = 0; i < 200; ++i) {
            wrong += selector.matches(yes) ? 0 : 1;
            wrong += selector.matches(no) ? 1 : 0;
        }
    };
    std::thread other(work);
    work();
    other.join();
    CHECK(wrong == 0);
}

TEST_CASE("an unknown or unsupported operator is refused by name")
{
    CHECK_THROWS_WITH_AS(compile(R"({"a": {"$foo": 1}})"),
                         doctest::Contains("invalid selector: unknown operator $foo"),
                         edw::JsonError);
    CHECK_THROWS_WITH_AS(compile(R"({"$or": [{"a": {"$elemMatch": {"$bar": 1}}}]})"),
                         doctest::Contains("$bar"), edw::JsonError);
    CHECK_THROWS_WITH_AS(compile(R"({"$text": "x"})"), doctest::Contains("$text is not supported"),
                         edw::JsonError);
    CHECK_THROWS_WITH_AS(compile(R"({"$where": "x"})"), doctest::Contains("$where"),
                         edw::JsonError);
}

TEST_CASE("an operator with the wrong kind of argument is refused by name")
{
    struct Case {
        const char* selector;
        const char* op;
    };
    const Case cases[] = {
        {R"({"$and": {"a": 1}})", "$and"},
        {R"({"$or": 1})", "$or"},
        {R"({"$nor": "x"})", "$nor"},
        {R"({"$not": [1]})", "$not"},
        {R"({"a": {"$in": 1}})", "$in"},
        {R"({"a": {"$nin": {"x": 1}}})", "$nin"},
        {R"({"a": {"$all": "x"}})", "$all"},
        {R"({"a": {"$exists": 1}})", "$exists"},
        {R"({"a": {"$type": 1}})", "$type"},
        {R"({"a": {"$size": -1}})", "$size"},
        {R"({"a": {"$size": 1.5}})", "$size"},
        {R"({"a": {"$mod": [0, 1]}})", "$mod"},
        {R"({"a": {"$mod": [2]}})", "$mod"},
        {R"({"a": {"$mod": [2.5, 1]}})", "$mod"},
        {R"({"a": {"$regex": 5}})", "$regex"},
        {R"({"a": {"$elemMatch": [1]}})", "$elemMatch"},
        {R"({"a": {"$allMatch": 1}})", "$allMatch"},
        {R"({"a": {"$beginsWith": 1}})", "$beginsWith"},
        {R"({"a": {"$keyMapMatch": "x"}})", "$keyMapMatch"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.selector);
        const std::string expected = std::string("invalid selector: ") + c.op + " needs ";
        CHECK_THROWS_WITH_AS(compile(c.selector), doctest::Contains(expected.c_str()),
                             edw::JsonError);
    }
    CHECK_THROWS_WITH_AS(compile(R"({"a": {"$in": 1}})"), doctest::Contains("$in needs an array"),
                         edw::JsonError);
    CHECK_THROWS_WITH_AS(compile(R"({"a": {"$size": -1}})"),
                         doctest::Contains("$size needs a non-negative integer"), edw::JsonError);
}

TEST_CASE("a $regex that does not compile is refused with its pattern")
{
    CHECK_THROWS_WITH_AS(compile(R"({"a": {"$regex": "(unclosed"}})"),
                         doctest::Contains(R"($regex "(unclosed" does not compile: U_REGEX_)"),
                         edw::JsonError);
}

TEST_CASE("a selector that is not an object, or a condition without a field, is refused")
{
    CHECK_THROWS_WITH_AS(edw::Selector(json::parse("[]")),
                         doctest::Contains("invalid selector: must be a JSON object"),
                         edw::JsonError);
    CHECK_THROWS_AS(edw::Selector(json("a")), edw::JsonError);
    CHECK_THROWS_WITH_AS(compile(R"({"$gt": 5})"),
                         doctest::Contains("$gt has no field to apply to"), edw::JsonError);
    CHECK_THROWS_WITH_AS(compile(R"({"$or": [5]})"), doctest::Contains("no field"), edw::JsonError);
    CHECK_THROWS_AS(compile(R"({"$and": [{"$exists": true}]})"), edw::JsonError);
    // Inside $elemMatch a condition without a field applies to the element itself.
    CHECK_NOTHROW(compile(R"({"a": {"$elemMatch": {"$exists": true}}})"));
}

TEST_SUITE_END();
