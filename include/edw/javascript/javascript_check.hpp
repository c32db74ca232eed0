// check_javascript: a syntax check of design doc functions, done before they reach a server.
#pragma once

#include <string>
#include <string_view>

namespace edw {

/// Checks that `source` is one JavaScript function expression, as a design doc stores it:
/// `function (doc) {...}` with nothing before it but whitespace, and nothing after it but
/// whitespace and one optional `;`.
///
/// This is a tokenizer, not a JavaScript engine: it follows comments, strings, template strings
/// (with `${...}` nested to any depth) and regular expressions, and checks that `()`, `[]` and
/// `{}` are balanced and properly nested. It catches the slips that otherwise show up only when
/// a server first runs the function. Comments must sit inside the function body, because PouchDB
/// compiles `return <source>;` and a comment on the first line would end that statement early.
///
/// Throws JsonError (bad input data, exit 65) "<file_name>:<line>: <what>", such as
/// `filters/x.js:7: unmatched ')'`.
void check_javascript(std::string_view source, const std::string& file_name);

} // namespace edw
