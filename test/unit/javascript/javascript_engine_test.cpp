// JavaScriptEngine: design functions compiled and run in the edw-js child process.
#include "edw/javascript/javascript_engine.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("javascript engine");

TEST_CASE("a function that does not compile is refused with the engine's reason and line")
{
    edw::JavaScriptEngine engine;
    CHECK_THROWS_WITH_AS(engine.compile("function (doc) {\n  emit(doc._id, ;\n}"),
                         doctest::Contains("SyntaxError"), edw::JsonError);
    CHECK_THROWS_WITH_AS(engine.compile("42"), doctest::Contains("not a function"), edw::JsonError);
    // A trailing semicolon, as design docs sometimes carry, is fine.
    CHECK_NOTHROW(engine.compile("function (doc) { emit(1, 2); };"));
}

TEST_CASE("the same source compiles once and keeps its id")
{
    edw::JavaScriptEngine engine;
    const int first = engine.compile("function (doc) { emit(doc.a, null); }");
    const int second = engine.compile("function (doc) { emit(doc.b, null); }");
    CHECK(first != second);
    CHECK(engine.compile("function (doc) { emit(doc.a, null); }") == first);
}

TEST_CASE("map runs every function on every doc, and a throw spoils only its own function's rows")
{
    edw::JavaScriptEngine engine;
    const int keys = engine.compile("function (doc) { emit([doc.n, doc._id], doc.v); emit(1); }");
    const int throws = engine.compile(
        "function (doc) { emit('before'); if (doc.n > 1) { throw new Error('too big'); } }");
    const nlohmann::json a = {{"_id", "a"}, {"n", 1}, {"v", {{"x", true}}}};
    const nlohmann::json b = {{"_id", "b"}, {"n", 2}};
    const auto outcomes = engine.map({keys, throws}, {&a, &b});
    REQUIRE(outcomes.size() == 2);
    REQUIRE(outcomes[0].size() == 2);
    REQUIRE(outcomes[0][0].rows.size() == 2);
    CHECK(outcomes[0][0].rows[0].first == nlohmann::json::array({1, "a"}));
    CHECK(outcomes[0][0].rows[0].second == nlohmann::json{{"x", true}});
    CHECK(outcomes[0][0].rows[1].second == nullptr); // emit(key) emits a null value
    CHECK(outcomes[0][1].error.empty());
    CHECK(outcomes[0][1].rows.size() == 1);
    CHECK(outcomes[1][0].rows[1].first == 1);
    CHECK(outcomes[1][0].rows[0].second == nullptr); // a missing field is undefined: null
    CHECK(outcomes[1][1].error.find("too big") != std::string::npos);
    CHECK(outcomes[1][1].rows.empty());
}

TEST_CASE("docs are frozen: a function cannot change what the next one sees")
{
    edw::JavaScriptEngine engine;
    const int changes = engine.compile("function (doc) { doc.n = 99; doc.list.push(4); }");
    const int reads = engine.compile("function (doc) { emit(doc.n, doc.list.length); }");
    const nlohmann::json doc = {{"_id", "a"}, {"n", 1}, {"list", {1, 2, 3}}};
    const auto outcomes = engine.map({changes, reads}, {&doc});
    REQUIRE(outcomes.at(0).size() == 2);
    // push() on a frozen array throws; the assignment is silently ignored, as in CouchDB.
    CHECK_FALSE(outcomes[0][0].error.empty());
    REQUIRE(outcomes[0][1].rows.size() == 1);
    CHECK(outcomes[0][1].rows[0].first == 1);
    CHECK(outcomes[0][1].rows[0].second == 3);
}

TEST_CASE("filter gets (doc, req) and answers per doc, and a throw is an error for that doc")
{
    edw::JavaScriptEngine engine;
    const int filter = engine.compile("function (doc, req) { if (doc.bad) { throw 'no'; } "
                                      "return doc.kind === req.query.kind; }");
    const nlohmann::json x = {{"_id", "x"}, {"kind", "raw"}};
    const nlohmann::json y = {{"_id", "y"}, {"kind", "amp"}};
    const nlohmann::json z = {{"_id", "z"}, {"bad", true}};
    const auto outcomes = engine.filter(filter, {{"query", {{"kind", "raw"}}}}, {&x, &y, &z});
    REQUIRE(outcomes.size() == 3);
    CHECK(outcomes[0].passed);
    CHECK_FALSE(outcomes[1].passed);
    CHECK(outcomes[1].error.empty());
    CHECK_FALSE(outcomes[2].passed);
    CHECK(outcomes[2].error == "no");
}

TEST_SUITE_END();
