#include "edw/javascript/javascript_check.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#ifndef EDW_SOURCE_DIR
#define EDW_SOURCE_DIR "."
#endif

namespace {

std::string read_source(const std::string& relative_path)
{
    std::ifstream in(std::filesystem::path(EDW_SOURCE_DIR) / relative_path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void check(const std::string& source)
{
    edw::check_javascript(source, "test.js");
}

} // namespace

TEST_SUITE_BEGIN("javascript_check");

TEST_CASE("the shipped process design doc functions pass")
{
    for (const char* file :
         {"design-docs/process/views/lastproc/map.js", "design-docs/process/views/status/map.js",
          "design-docs/process/filters/with_process.js"}) {
        CAPTURE(file);
        CHECK_NOTHROW(edw::check_javascript(read_source(file), file));
    }
}

TEST_CASE("a function may have a name, a trailing semicolon and surrounding whitespace")
{
    CHECK_NOTHROW(check("function (doc) {}"));
    CHECK_NOTHROW(check("function map(doc) { emit(doc._id, null); }"));
    CHECK_NOTHROW(check("\n\n  function(doc){\n}\n;\n\n"));
    CHECK_NOTHROW(check("function (doc, { a = [1, 2] } = {}) { return a; }"));
}

TEST_CASE("brackets inside strings and comments do not count")
{
    CHECK_NOTHROW(check("function (doc) {\n  var s = \"(\" + '[' + \"}\";\n}"));
    CHECK_NOTHROW(check("function (doc) {\n  // ) ] } are fine here\n  /* and { here\n  ( */\n}"));
    CHECK_NOTHROW(check(R"(function (doc) { var s = "a \" ) quote", t = 'it\'s {'; })"));
    CHECK_NOTHROW(check("function (doc) { var s = 'a \\\n continued ('; }"));
    CHECK_NOTHROW(check(R"(function (doc) { var s = "a backslash \\"; var t = '\\'; })"));
}

TEST_CASE("template strings may hold line breaks, brackets and nested placeholders")
{
    CHECK_NOTHROW(check("function (doc) {\n  return `a (\n b [ ${doc._id} }`;\n}"));
    CHECK_NOTHROW(check("function (doc) { return `${doc.a ? `x${ {b: 1}.b }` : '}'}`; }"));
    CHECK_NOTHROW(check("function (doc) { return `\\${ not a placeholder ( \\``; }"));
    CHECK_NOTHROW(check("function (doc) { return `${ /[}]/.test(doc._id) }`; }"));
}

TEST_CASE("regular expressions are told apart from divisions")
{
    CHECK_NOTHROW(check(R"(function (doc) { return /[(/]\)/g.test(doc._id); })"));
    CHECK_NOTHROW(
        check(R"(function (doc) { var r = /\/(?:a|b)}/; var s = x.replace(/[\]}]/, ""); })"));
    CHECK_NOTHROW(
        check("function (doc) { var half = doc.count / 2 / (doc.total) / doc.a[1] / 3; }"));
    CHECK_NOTHROW(check("function (doc) { var i = 0; i++ / 2; i-- / 3; return typeof /x(/; }"));
    CHECK_NOTHROW(check("function (doc) { if (doc.ok) { } /x)/.test(doc._id); }"));
    CHECK_NOTHROW(check("function (doc) { var a = doc.return / 2 / (1); }"));
}

TEST_CASE("CouchDB-style functions pass")
{
    CHECK_NOTHROW(check(R"(function (newDoc, oldDoc, userCtx, secObj) {
  if (newDoc._deleted) {
    return;
  }
  if (!/^ma\d+[a-z]\d{3}_\d{3}$/.test(newDoc._id)) {
    throw({forbidden: 'bad id: ' + newDoc._id});
  }
  for (var i = 0; i < newDoc.process.length; ++i) {
    if (typeof newDoc.process[i].name !== "string") {
      throw({forbidden: "unnamed step " + i});
    }
  }
};)"));
}

TEST_CASE("an extra closing bracket is reported on its line")
{
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  if (doc.a)) {\n  }\n}"),
                         doctest::Contains("test.js:2: unmatched ')'"), edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc) {\n\n  emit(doc._id, [1, 2));\n}"),
                         "test.js:3: unmatched ')' (the innermost open bracket is '[' from line 3)",
                         edw::JsonError);
}

TEST_CASE("a closing bracket after the function is unmatched")
{
    CHECK_THROWS_WITH_AS(check("function (doc) {\n}\n}"), "test.js:3: unmatched '}'",
                         edw::JsonError);
}

TEST_CASE("a bracket left open is reported with the line it was opened on")
{
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  if (doc.a) {\n    emit(doc._id, 1);\n}\n\n"),
                         "test.js:4: '{' opened on line 1 is never closed", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  emit(doc._id,\n"),
                         "test.js:2: '(' opened on line 2 is never closed", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  return `${doc._id\n"),
                         "test.js:2: '${' opened on line 2 is never closed", edw::JsonError);
    // A backtick inside a placeholder starts a template of its own.
    CHECK_THROWS_WITH_AS(check("function (doc) { return `${doc._id`; }"),
                         "test.js:1: unterminated template string", edw::JsonError);
}

TEST_CASE("unterminated strings are reported on the line they start")
{
    CHECK_THROWS_WITH_AS(check("function (doc) {\n\n  var s = \"abc;\n}"),
                         "test.js:3: unterminated string", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  var s = 'abc\\'; }"),
                         "test.js:2: unterminated string", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  var s = 'abc\\"),
                         "test.js:2: unterminated string", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  return `abc\n\n}"),
                         "test.js:2: unterminated template string", edw::JsonError);
}

TEST_CASE("unterminated comments and regular expressions are reported on the line they start")
{
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  /* a\n  comment\n}"),
                         "test.js:2: unterminated comment", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  return /abc;\n}"),
                         "test.js:2: unterminated regular expression", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc) {\n  return /[/]/;\n  var x = /a[/;\n}"),
                         "test.js:3: unterminated regular expression", edw::JsonError);
}

TEST_CASE("the source must be one function expression")
{
    CHECK_THROWS_WITH_AS(check(""),
                         "test.js:1: expected a function expression, found the end of "
                         "the source",
                         edw::JsonError);
    CHECK_THROWS_WITH_AS(check("\n(doc) => { emit(doc._id, null); }"),
                         "test.js:2: expected a function expression, found '('", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("var f = function (doc) {}"),
                         "test.js:1: expected a function expression, found 'var'", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function {}"),
                         "test.js:1: expected '(' after 'function', found '{'", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc)\n  emit(doc._id);"),
                         "test.js:2: expected '{' after the parameter list, found 'emit'",
                         edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc)"),
                         "test.js:1: expected '{' after the parameter list, found the end of the "
                         "source",
                         edw::JsonError);
}

TEST_CASE("nothing but one semicolon may follow the function")
{
    CHECK_THROWS_WITH_AS(check("function (a) {\n}\nfunction (b) {\n}"),
                         "test.js:3: unexpected 'function' after the end of the function",
                         edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (a) {};;"),
                         "test.js:1: unexpected ';' after the end of the function", edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (a) {}\n(doc)"),
                         "test.js:2: unexpected '(' after the end of the function", edw::JsonError);
}

TEST_CASE("comments outside the function are refused, since PouchDB would misread them")
{
    CHECK_THROWS_WITH_AS(check("// the lastproc view\nfunction (doc) {}"),
                         doctest::Contains("test.js:1: comment outside the function"),
                         edw::JsonError);
    CHECK_THROWS_WITH_AS(check("function (doc) {\n} // done\n"),
                         doctest::Contains("test.js:2: comment outside the function"),
                         edw::JsonError);
    CHECK_NOTHROW(check("function (doc /* a metadata doc */) {\n  // inside: fine\n}"));
}

TEST_SUITE_END();
