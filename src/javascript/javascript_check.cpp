// check_javascript: a tokenizer that finds unbalanced brackets and unterminated literals.
#include "edw/javascript/javascript_check.hpp"

#include <edw/util/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <vector>

namespace edw {

namespace {

enum class TokenKind {
    word,       // identifier or keyword
    number,     // numeric literal
    literal,    // string, template string or regular expression
    punctuator, // operator or bracket
};

struct Token {
    TokenKind kind;
    std::string_view text;
    int line;
};

// A bracket waiting for its partner. A template string's `${` counts as one: the `}` that closes
// it returns the scan to the template text, which started on `template_line`.
struct OpenBracket {
    char bracket; // '(', '[', '{', or '$' for `${`
    int line;
    int template_line = 0;
};

// Where the scan stands in `function name(params) {body};`.
enum class Shape {
    before_function,
    after_keyword,
    after_name,
    parameters,
    before_body,
    body,
    after_body,
    after_semicolon,
};

// Words after which a `/` starts a regular expression rather than a division.
constexpr std::array<std::string_view, 14> words_before_expression = {
    "return", "typeof", "instanceof", "in", "of",   "new",   "delete",
    "void",   "throw",  "case",       "do", "else", "yield", "await",
};

bool is_word_char(char c)
{
    const auto byte = static_cast<unsigned char>(c);
    // Bytes above 0x7f are parts of UTF-8 letters; a backslash starts a \u escape in a name.
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c == '\\' || byte > 0x7f;
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool is_closing(std::string_view text)
{
    return text == ")" || text == "]" || text == "}";
}

char partner(char closing)
{
    return closing == ')' ? '(' : closing == ']' ? '[' : '{';
}

std::string bracket_text(char bracket)
{
    return bracket == '$' ? "${" : std::string(1, bracket);
}

std::string describe(const Token& token)
{
    if (token.kind == TokenKind::literal) {
        return token.text.front() == '/' ? "a regular expression" : "a string";
    }
    return "'" + std::string(token.text) + "'";
}

class Checker {
public:
    Checker(std::string_view source, const std::string& file_name)
        : m_source(source)
        , m_file_name(file_name)
    {}

    void run();

private:
    [[noreturn]] void fail(int line, const std::string& what) const
    {
        throw JsonError(m_file_name + ":" + std::to_string(line) + ": " + what);
    }

    [[nodiscard]] char at(std::size_t pos) const
    {
        return pos < m_source.size() ? m_source[pos] : '\0';
    }
    [[nodiscard]] bool is_regex_allowed() const;
    [[nodiscard]] int last_line() const;

    void skip_comment();
    void scan_quoted();
    void scan_template(int template_line);
    void scan_regex();
    void scan_while_word_char(std::size_t start, TokenKind kind);
    void on_token(const Token& token);
    void on_end();
    void close(const Token& token);

    std::string_view m_source;
    const std::string& m_file_name;
    std::size_t m_pos = 0;
    int m_line = 1;
    std::vector<OpenBracket> m_open;
    Shape m_shape = Shape::before_function;
    std::optional<Token> m_previous;
    bool m_previous_is_property = false; // the previous token is a word right after a '.'
};

void Checker::run()
{
    while (m_pos < m_source.size()) {
        const char c = m_source[m_pos];
        const char next = at(m_pos + 1);
        if (c == '\n') {
            ++m_line;
            ++m_pos;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            ++m_pos;
        } else if (c == '/' && (next == '/' || next == '*')) {
            skip_comment();
        } else if (c == '"' || c == '\'') {
            scan_quoted();
        } else if (c == '`') {
            on_token({TokenKind::literal, m_source.substr(m_pos, 1), m_line});
            ++m_pos;
            scan_template(m_line);
        } else if (c == '}' && !m_open.empty() && m_open.back().bracket == '$') {
            const int template_line = m_open.back().template_line;
            m_open.pop_back();
            ++m_pos;
            scan_template(template_line);
        } else if (c == '/' && is_regex_allowed()) {
            scan_regex();
        } else if (is_digit(c) || (c == '.' && is_digit(next))) {
            // Exponents and hex digits need no care: whatever the split, a number is followed by
            // a division, which is all the regex rule needs to know.
            scan_while_word_char(m_pos, TokenKind::number);
        } else if (is_word_char(c)) {
            scan_while_word_char(m_pos, TokenKind::word);
        } else {
            // Only ++ and -- matter among the longer operators: after them a '/' divides.
            const std::size_t size = (c == '+' || c == '-') && next == c ? 2 : 1;
            on_token({TokenKind::punctuator, m_source.substr(m_pos, size), m_line});
            m_pos += size;
        }
    }
    on_end();
}

// A '/' that can start an expression starts a regular expression; anywhere else it divides. This
// is the usual heuristic: it misreads only code such as `if (x) /re/.test(y)`.
bool Checker::is_regex_allowed() const
{
    if (!m_previous) {
        return true;
    }
    switch (m_previous->kind) {
    case TokenKind::number:
    case TokenKind::literal:
        return false;
    case TokenKind::word:
        return !m_previous_is_property &&
               std::find(words_before_expression.begin(), words_before_expression.end(),
                         m_previous->text) != words_before_expression.end();
    case TokenKind::punctuator:
        // After '}' a statement usually starts; an object literal divided by something is rare.
        return m_previous->text != ")" && m_previous->text != "]" && m_previous->text != "++" &&
               m_previous->text != "--";
    }
    return true;
}

int Checker::last_line() const
{
    const auto last = m_source.find_last_not_of(" \t\r\n\f\v");
    if (last == std::string_view::npos) {
        return 1;
    }
    return 1 + static_cast<int>(std::count(m_source.begin(), m_source.begin() + last, '\n'));
}

void Checker::skip_comment()
{
    // PouchDB compiles a filter as `return <source>;`: after a comment on the first line, the
    // return statement ends there and the filter is undefined. Views get `return (<source>);`,
    // which a line comment after the function breaks.
    if (m_shape == Shape::before_function || m_shape == Shape::after_body ||
        m_shape == Shape::after_semicolon) {
        fail(m_line, "comment outside the function; PouchDB compiles `return <source>`, so "
                     "comments belong inside the braces");
    }
    if (m_source[m_pos + 1] == '/') {
        const auto end = m_source.find('\n', m_pos);
        m_pos = end == std::string_view::npos ? m_source.size() : end;
        return;
    }
    const auto end = m_source.find("*/", m_pos + 2);
    if (end == std::string_view::npos) {
        fail(m_line, "unterminated comment");
    }
    m_line +=
        static_cast<int>(std::count(m_source.begin() + static_cast<std::ptrdiff_t>(m_pos),
                                    m_source.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
    m_pos = end + 2;
}

void Checker::scan_quoted()
{
    const std::size_t start = m_pos;
    const int start_line = m_line;
    const char quote = m_source[m_pos++];
    for (;;) {
        const char c = at(m_pos);
        if (m_pos >= m_source.size() || c == '\n' || c == '\r') {
            fail(start_line, "unterminated string");
        }
        if (c == quote) {
            ++m_pos;
            break;
        }
        if (c == '\\') {
            // A backslash before a line break continues the string on the next line.
            const char escaped = at(m_pos + 1);
            if (m_pos + 1 >= m_source.size()) {
                fail(start_line, "unterminated string");
            }
            if (escaped == '\n') {
                ++m_line;
            } else if (escaped == '\r' && at(m_pos + 2) == '\n') {
                ++m_line;
                ++m_pos;
            }
            m_pos += 2;
        } else {
            ++m_pos;
        }
    }
    on_token({TokenKind::literal, m_source.substr(start, m_pos - start), start_line});
}

// Scans template text from just after a '`' or after the '}' that closes a `${`, up to the
// closing '`' or the next `${`.
void Checker::scan_template(int template_line)
{
    for (;;) {
        if (m_pos >= m_source.size()) {
            fail(template_line, "unterminated template string");
        }
        const char c = m_source[m_pos];
        if (c == '`') {
            ++m_pos;
            m_previous = Token{TokenKind::literal, m_source.substr(m_pos - 1, 1), m_line};
            m_previous_is_property = false;
            return;
        }
        if (c == '$' && at(m_pos + 1) == '{') {
            m_open.push_back({'$', m_line, template_line});
            m_previous = Token{TokenKind::punctuator, m_source.substr(m_pos, 2), m_line};
            m_previous_is_property = false;
            m_pos += 2;
            return;
        }
        if (c == '\\' && m_pos + 1 < m_source.size()) {
            ++m_pos;
        }
        if (m_source[m_pos] == '\n') {
            ++m_line;
        }
        ++m_pos;
    }
}

void Checker::scan_regex()
{
    const std::size_t start = m_pos;
    const int start_line = m_line;
    bool in_class = false; // inside [...], where '/' does not end the expression
    ++m_pos;
    for (;;) {
        const char c = at(m_pos);
        if (m_pos >= m_source.size() || c == '\n' || c == '\r') {
            fail(start_line, "unterminated regular expression");
        }
        ++m_pos;
        if (c == '\\') {
            const char escaped = at(m_pos);
            if (m_pos >= m_source.size() || escaped == '\n' || escaped == '\r') {
                fail(start_line, "unterminated regular expression");
            }
            ++m_pos;
        } else if (c == '[') {
            in_class = true;
        } else if (c == ']') {
            in_class = false;
        } else if (c == '/' && !in_class) {
            break;
        }
    }
    while (m_pos < m_source.size() && is_word_char(m_source[m_pos])) {
        ++m_pos; // flags
    }
    on_token({TokenKind::literal, m_source.substr(start, m_pos - start), start_line});
}

void Checker::scan_while_word_char(std::size_t start, TokenKind kind)
{
    m_pos = start + 1;
    while (m_pos < m_source.size() && (is_word_char(m_source[m_pos]) ||
                                       (kind == TokenKind::number && m_source[m_pos] == '.'))) {
        ++m_pos;
    }
    on_token({kind, m_source.substr(start, m_pos - start), m_line});
}

void Checker::on_token(const Token& token)
{
    const bool is_punctuator = token.kind == TokenKind::punctuator;
    const bool opens =
        is_punctuator && (token.text == "(" || token.text == "[" || token.text == "{");
    const bool closes = is_punctuator && is_closing(token.text);
    switch (m_shape) {
    case Shape::before_function:
        if (token.kind != TokenKind::word || token.text != "function") {
            fail(token.line, "expected a function expression, found " + describe(token));
        }
        m_shape = Shape::after_keyword;
        break;
    case Shape::after_keyword:
    case Shape::after_name:
        if (m_shape == Shape::after_keyword && token.kind == TokenKind::word) {
            m_shape = Shape::after_name;
        } else if (is_punctuator && token.text == "(") {
            m_open.push_back({'(', token.line});
            m_shape = Shape::parameters;
        } else {
            fail(token.line, "expected '(' after 'function', found " + describe(token));
        }
        break;
    case Shape::parameters:
    case Shape::body:
        if (opens) {
            m_open.push_back({token.text.front(), token.line});
        } else if (closes) {
            close(token);
            if (m_open.empty()) {
                m_shape = m_shape == Shape::parameters ? Shape::before_body : Shape::after_body;
            }
        }
        break;
    case Shape::before_body:
        if (!is_punctuator || token.text != "{") {
            fail(token.line, "expected '{' after the parameter list, found " + describe(token));
        }
        m_open.push_back({'{', token.line});
        m_shape = Shape::body;
        break;
    case Shape::after_body:
    case Shape::after_semicolon:
        if (closes) {
            close(token); // reports the unmatched bracket
        }
        if (m_shape == Shape::after_semicolon || !is_punctuator || token.text != ";") {
            fail(token.line, "unexpected " + describe(token) + " after the end of the function");
        }
        m_shape = Shape::after_semicolon;
        break;
    }
    m_previous_is_property = token.kind == TokenKind::word && m_previous &&
                             m_previous->kind == TokenKind::punctuator && m_previous->text == ".";
    m_previous = token;
}

void Checker::close(const Token& token)
{
    const char bracket = token.text.front();
    if (m_open.empty()) {
        fail(token.line, "unmatched '" + std::string(token.text) + "'");
    }
    const OpenBracket& open = m_open.back();
    if (open.bracket != partner(bracket)) {
        fail(token.line, "unmatched '" + std::string(token.text) +
                             "' (the innermost open bracket is '" + bracket_text(open.bracket) +
                             "' from line " + std::to_string(open.line) + ")");
    }
    m_open.pop_back();
}

void Checker::on_end()
{
    if (!m_open.empty()) {
        const OpenBracket& open = m_open.back();
        fail(last_line(), "'" + bracket_text(open.bracket) + "' opened on line " +
                              std::to_string(open.line) + " is never closed");
    }
    switch (m_shape) {
    case Shape::before_function:
        fail(last_line(), "expected a function expression, found the end of the source");
    case Shape::after_keyword:
    case Shape::after_name:
        fail(last_line(), "expected '(' after 'function', found the end of the source");
    case Shape::before_body:
        fail(last_line(), "expected '{' after the parameter list, found the end of the source");
    case Shape::parameters:
    case Shape::body:
    case Shape::after_body:
    case Shape::after_semicolon:
        break;
    }
}

} // namespace

void check_javascript(std::string_view source, const std::string& file_name)
{
    Checker(source, file_name).run();
}

} // namespace edw
