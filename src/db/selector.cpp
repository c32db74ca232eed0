// Selector: Mango selectors compiled to a tree of field conditions, matched as CouchDB 3 does.
#include "edw/db/selector.hpp"

#include <edw/db/collation.hpp>
#include <edw/util/error.hpp>

#include <nlohmann/json.hpp>

#include <unicode/uregex.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edw {
namespace detail {

struct RegexCloser {
    void operator()(URegularExpression* regex) const noexcept { uregex_close(regex); }
};
using RegexPtr = std::unique_ptr<URegularExpression, RegexCloser>;

// $ne, $gte, $lte and $nin are the negations of $eq, $lt, $gt and $in, and CouchDB's negation
// changes nothing else about them, so they share an Op and set `negated`. The three comparisons
// are one Op that wants collate() to give `order`.
enum class Op {
    all_of,
    any_of,
    compare,
    in,
    exists,
    type,
    size,
    mod,
    regex,
    begins_with,
    all,
    elem_match,
    all_match,
    key_map_match
};

// Either a combination of children (all_of, any_of) or one condition on one field. Negations are
// pushed down onto the conditions while compiling, as mango_selector:norm_negations/1 does: that
// keeps a missing field failing a negated condition, which is what CouchDB answers.
struct SelectorNode {
    Op op = Op::all_of;
    bool negated = false;
    bool by_code_point = false;                   // the field is `_id`
    std::optional<std::vector<std::string>> path; // none: the value itself ($elemMatch elements)
    std::vector<nlohmann::json> args;   // the argument, or the elements of one that is an array
    int order = 0;                      // compare: -1 for $lt, 0 for $eq, 1 for $gt
    bool should_exist = false;          // $exists, with any negation folded in
    RegexPtr regex;                     // $regex
    std::vector<SelectorNode> children; // all_of, any_of, or the one sub-selector
};

} // namespace detail

namespace {

using detail::Op;
using detail::RegexPtr;
using nlohmann::json;
using Node = detail::SelectorNode;

[[noreturn]] void invalid(const std::string& what)
{
    throw JsonError("invalid selector: " + what);
}

// What a part of a selector applies to as it is compiled.
struct Scope {
    std::optional<std::string> path; // the dotted field path so far; none: the value itself
    bool negated = false;            // under an odd number of $not and $nor
    bool in_document = true;         // false inside $elemMatch, $allMatch and $keyMapMatch
};

Node compile(const json& selector, const Scope& scope);

// mango_util:parse_field/1: a dot separates names unless a backslash comes before it, and every
// backslash is then dropped, so "a\.b" names the field "a.b".
std::vector<std::string> parse_path(std::string_view path)
{
    std::vector<std::string> names(1);
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '.' && (i == 0 || path[i - 1] != '\\')) {
            names.emplace_back();
        } else if (path[i] != '\\') {
            names.back() += path[i];
        }
    }
    return names;
}

Node condition_node(Op op, const std::string& what, const Scope& scope)
{
    // CouchDB refuses a top-level condition without a field ("missing_field_name"); one deeper in
    // the document would compare the whole document, which no selector means to do.
    if (!scope.path && scope.in_document) {
        invalid(what + " has no field to apply to");
    }
    Node node;
    node.op = op;
    node.negated = scope.negated;
    if (scope.path) {
        node.path = parse_path(*scope.path);
        node.by_code_point = *scope.path == "_id";
    }
    return node;
}

// ICU's regular expressions rather than std::regex: their syntax is Perl's, like the PCRE that
// CouchDB uses ("(?i)" and the other inline flags work), and they backtrack on the heap, where
// libstdc++'s std::regex recurses and overflows the stack on strings of some tens of kilobytes.
RegexPtr compile_regex(const std::string& pattern)
{
    UErrorCode status = U_ZERO_ERROR;
    std::u16string utf16(pattern.size(), u'\0'); // UTF-8 never has fewer units than UTF-16
    std::int32_t length = 0;
    u_strFromUTF8(utf16.data(), static_cast<std::int32_t>(utf16.size()), &length, pattern.data(),
                  static_cast<std::int32_t>(pattern.size()), &status);
    utf16.resize(static_cast<std::size_t>(length));
    // ICU refuses a length of 0 but takes "" given as a NUL-terminated string, which u16string is.
    UParseError where{};
    RegexPtr regex(U_SUCCESS(status)
                       ? uregex_open(utf16.c_str(), length > 0 ? length : -1, 0, &where, &status)
                       : nullptr);
    if (U_FAILURE(status)) {
        invalid("$regex " + json(pattern).dump() + " does not compile: " + u_errorName(status) +
                " at offset " + std::to_string(where.offset));
    }
    return regex;
}

// ICU counts a match's time in steps; this many stop a pattern that backtracks without end after
// a fraction of a second, while a plain search through a megabyte takes a few steps.
constexpr std::int32_t regex_time_limit = 1000;

// A search for `pattern` anywhere in `text`. CouchDB counts a failed search (PCRE's match limit)
// as no match, and so does this when ICU gives up on a pattern that backtracks without end.
bool regex_search(const URegularExpression& pattern, const std::string& text)
{
    // A compiled regex holds its last match, so each search uses its own copy, which is what lets
    // threads share a Selector.
    UErrorCode status = U_ZERO_ERROR;
    const RegexPtr regex(uregex_clone(&pattern, &status));
    UText utext = UTEXT_INITIALIZER;
    utext_openUTF8(&utext, text.data(), static_cast<std::int64_t>(text.size()), &status);
    uregex_setTimeLimit(regex.get(), regex_time_limit, &status);
    // The backtracking stack takes some words for each character that a loop passes, and ICU's
    // default of 8 MB already fails "a+" over a megabyte of "a"s; allow for the text at hand.
    const std::size_t stack_limit = std::clamp<std::size_t>(text.size() * 128, 8 << 20, 1 << 30);
    uregex_setStackLimit(regex.get(), static_cast<std::int32_t>(stack_limit), &status);
    uregex_setUText(regex.get(), &utext, &status);
    const bool found = uregex_find(regex.get(), 0, &status) != 0;
    utext_close(&utext);
    return U_SUCCESS(status) && found;
}

// What an operator's argument must be, as mango_selector:norm_ops/1 checks it.
enum class Needs { anything, array, boolean, string, object, count, divisor_and_remainder };

bool fits_int64(const json& value)
{
    return value.is_number_integer() &&
           !(value.is_number_unsigned() && value.get<std::uint64_t>() > INT64_MAX);
}

// What `arg` lacks for an operator that needs `needs`; empty when it will do.
std::string_view lack(const json& arg, Needs needs)
{
    switch (needs) {
    case Needs::anything:
        return {};
    case Needs::array:
        return arg.is_array() ? "" : "an array";
    case Needs::boolean:
        return arg.is_boolean() ? "" : "true or false";
    case Needs::string:
        return arg.is_string() ? "" : "a string";
    case Needs::object:
        return arg.is_object() ? "" : "an object";
    case Needs::count:
        return arg.is_number_unsigned() || (arg.is_number_integer() && arg.get<std::int64_t>() >= 0)
                   ? ""
                   : "a non-negative integer";
    case Needs::divisor_and_remainder:
        // CouchDB accepts a divisor of 0 and then fails every request that reaches the condition.
        return arg.is_array() && arg.size() == 2 && fits_int64(arg[0]) && fits_int64(arg[1]) &&
                       arg[0].get<std::int64_t>() != 0
                   ? ""
                   : "two 64-bit integers [divisor, remainder] with a divisor other than 0";
    }
    return {};
}

struct Operator {
    std::string_view name;
    Op op;
    bool negates;
    Needs needs;
    int order = 0;
};

constexpr Operator operators[] = {{"$eq", Op::compare, false, Needs::anything, 0},
                                  {"$ne", Op::compare, true, Needs::anything, 0},
                                  {"$lt", Op::compare, false, Needs::anything, -1},
                                  {"$gte", Op::compare, true, Needs::anything, -1},
                                  {"$gt", Op::compare, false, Needs::anything, 1},
                                  {"$lte", Op::compare, true, Needs::anything, 1},
                                  {"$in", Op::in, false, Needs::array},
                                  {"$nin", Op::in, true, Needs::array},
                                  {"$all", Op::all, false, Needs::array},
                                  {"$exists", Op::exists, false, Needs::boolean},
                                  {"$type", Op::type, false, Needs::string},
                                  {"$beginsWith", Op::begins_with, false, Needs::string},
                                  {"$regex", Op::regex, false, Needs::string},
                                  {"$size", Op::size, false, Needs::count},
                                  {"$mod", Op::mod, false, Needs::divisor_and_remainder},
                                  {"$elemMatch", Op::elem_match, false, Needs::object},
                                  {"$allMatch", Op::all_match, false, Needs::object},
                                  {"$keyMapMatch", Op::key_map_match, false, Needs::object}};

// One condition operator and its argument.
Node condition(const std::string& op, const json& arg, const Scope& scope)
{
    const auto known =
        std::find_if(std::begin(operators), std::end(operators),
                     [&op](const Operator& candidate) { return candidate.name == op; });
    if (known == std::end(operators)) {
        if (op == "$text" || op == "$default" || op == "$where" || op == "$geoWithin" ||
            op == "$geoIntersects" || op == "$near" || op == "$nearSphere") {
            invalid(op + " is not supported");
        }
        invalid("unknown operator " + op);
    }
    if (const std::string_view needed = lack(arg, known->needs); !needed.empty()) {
        invalid(op + " needs " + std::string(needed) + ", not " + arg.dump());
    }
    Node node = condition_node(known->op, op, scope);
    node.negated = scope.negated != known->negates;
    node.order = known->order;
    switch (known->op) {
    case Op::exists:
        // Negating $exists flips it, and so a missing field passes {"$not": {"$exists": true}}.
        node.should_exist = arg.get<bool>() != scope.negated;
        node.negated = false;
        break;
    case Op::regex:
        node.regex = compile_regex(arg.get<std::string>());
        break;
    case Op::elem_match:
    case Op::all_match:
    case Op::key_map_match:
        // The sub-selector applies to each element (or key) on its own, with no negation.
        node.children.push_back(
            compile(arg, Scope{.path = std::nullopt, .negated = false, .in_document = false}));
        break;
    default:
        node.args = arg.is_array() && known->needs != Needs::anything ? arg.get<std::vector<json>>()
                                                                      : std::vector<json>{arg};
        break;
    }
    return node;
}

// One member of a selector object: a combination operator, a condition operator, or a field name
// that extends the path for its value, as mango_selector:norm_fields/2 does.
Node compile_member(const std::string& key, const json& value, const Scope& scope)
{
    if (!key.starts_with('$')) {
        Scope inner = scope;
        inner.path = scope.path ? *scope.path + "." + key : key;
        return compile(value, inner);
    }
    if (key == "$and" || key == "$or" || key == "$nor") {
        if (!value.is_array()) {
            invalid(key + " needs an array, not " + value.dump());
        }
        // $nor is $and over negations. Under a negation De Morgan turns $and into $or over
        // negations and $or into $and, until each negation rests on one condition.
        Scope inner = scope;
        inner.negated = scope.negated != (key == "$nor");
        Node node;
        node.op = (key == "$or") == scope.negated ? Op::all_of : Op::any_of;
        for (const json& part : value) {
            node.children.push_back(compile(part, inner));
        }
        return node;
    }
    if (key == "$not") {
        if (!value.is_object()) {
            invalid("$not needs an object, not " + value.dump());
        }
        Scope inner = scope;
        inner.negated = !scope.negated;
        return compile(value, inner);
    }
    return condition(key, value, scope);
}

Node compile(const json& selector, const Scope& scope)
{
    // A bare value is an implicit $eq, and so is {}: mango_selector:norm_ops/1 has no other case
    // for an object without members.
    if (!selector.is_object() || selector.empty()) {
        if (!scope.path && scope.in_document) {
            invalid("value " + selector.dump() + " has no field to apply to");
        }
        return condition("$eq", selector, scope);
    }
    if (selector.size() == 1) {
        return compile_member(selector.begin().key(), selector.begin().value(), scope);
    }
    // Several members are an implicit $and, which a negation turns into an $or.
    Node node;
    node.op = scope.negated ? Op::any_of : Op::all_of;
    for (const auto& [key, value] : selector.items()) {
        node.children.push_back(compile_member(key, value, scope));
    }
    return node;
}

// An array index as Erlang's list_to_integer/1 reads one for mango_doc:get_field/3: an optional
// sign, then digits, leading zeros allowed.
std::optional<std::size_t> array_index(std::string_view name, std::size_t size)
{
    const bool negative = name.starts_with('-');
    if (negative || name.starts_with('+')) {
        name.remove_prefix(1);
    }
    if (name.empty()) {
        return std::nullopt;
    }
    std::size_t index = 0;
    for (const char digit : name) {
        if (digit < '0' || digit > '9') {
            return std::nullopt;
        }
        index = index * 10 + static_cast<std::size_t>(digit - '0');
        if (index >= size) {
            return std::nullopt; // also stops the sum before it can overflow
        }
    }
    if (negative && index != 0) {
        return std::nullopt;
    }
    return index;
}

enum class Lookup { found, missing, bad_path };

// mango_doc:get_field/3. Only a name missing from an object makes a field missing; any other
// failed step is a bad path, which fails even {"$exists": false}.
Lookup find_field(const json*& value, const std::vector<std::string>& path)
{
    for (const std::string& name : path) {
        if (value->is_object()) {
            const auto member = value->find(name);
            if (member == value->end()) {
                return Lookup::missing;
            }
            value = &*member;
        } else if (value->is_array()) {
            const std::optional<std::size_t> index = array_index(name, value->size());
            if (!index) {
                return Lookup::bad_path;
            }
            value = &(*value)[*index];
        } else {
            return Lookup::bad_path;
        }
    }
    return Lookup::found;
}

int compare(const Node& node, const json& value, const json& arg)
{
    if (!node.by_code_point) {
        return collate(value, arg);
    }
    // CouchDB compares `_id` in Erlang's term order, which orders two strings by their bytes
    // (code points, for UTF-8) and puts a string after every other kind of value.
    if (value.is_string() && arg.is_string()) {
        return collate_raw(value.get_ref<const std::string&>(), arg.get_ref<const std::string&>());
    }
    if (value.is_string() != arg.is_string()) {
        return value.is_string() ? 1 : -1;
    }
    return collate(value, arg);
}

// Erlang's rem, which CouchDB uses, takes the sign of the dividend, as C++'s % does. The value
// can be an unsigned integer beyond INT64_MAX, and INT64_MIN % -1 would overflow.
bool has_remainder(const json& value, std::int64_t divisor, std::int64_t remainder)
{
    if (value.is_number_unsigned()) {
        const std::uint64_t magnitude = divisor < 0 ? 0 - static_cast<std::uint64_t>(divisor)
                                                    : static_cast<std::uint64_t>(divisor);
        return remainder >= 0 &&
               value.get<std::uint64_t>() % magnitude == static_cast<std::uint64_t>(remainder);
    }
    return divisor == -1 ? remainder == 0 : value.get<std::int64_t>() % divisor == remainder;
}

bool evaluate(const Node& node, const json& value);

// $in holds when the value, or for an array any of its elements, equals any argument.
bool is_in(const Node& node, const json& value)
{
    const auto equals_an_argument = [&node](const json& candidate) {
        return std::any_of(node.args.begin(), node.args.end(), [&](const json& argument) {
            return compare(node, candidate, argument) == 0;
        });
    };
    if (value.is_array()) {
        return std::any_of(value.begin(), value.end(), equals_an_argument);
    }
    return equals_an_argument(value);
}

// $all holds when the array holds every argument, or when the one argument is the array itself.
bool contains_all(const std::vector<json>& arguments, const json& value)
{
    if (!value.is_array() || arguments.empty()) {
        return false;
    }
    const bool has_all =
        std::all_of(arguments.begin(), arguments.end(), [&value](const json& argument) {
            return std::find(value.begin(), value.end(), argument) != value.end();
        });
    return has_all || (arguments.size() == 1 && arguments[0] == value);
}

// The condition itself, on a value that was found; evaluate() applies the negation.
bool test(const Node& node, const json& value)
{
    const Node* sub = node.children.empty() ? nullptr : &node.children.front();
    const auto sub_matches = [sub](const json& part) { return evaluate(*sub, part); };
    switch (node.op) {
    case Op::compare:
        return compare(node, value, node.args.front()) == node.order;
    case Op::in:
        return is_in(node, value);
    case Op::exists:
        return node.should_exist;
    case Op::type:
        // nlohmann's type names are Mango's, "number" for every kind of number included.
        return value.type_name() == node.args.front().get_ref<const std::string&>();
    case Op::size:
        return value.is_array() && value.size() == node.args.front().get<std::uint64_t>();
    case Op::mod:
        return value.is_number_integer() && has_remainder(value, node.args[0].get<std::int64_t>(),
                                                          node.args[1].get<std::int64_t>());
    case Op::regex:
        return value.is_string() && regex_search(*node.regex, value.get_ref<const std::string&>());
    case Op::begins_with:
        return value.is_string() && value.get_ref<const std::string&>().starts_with(
                                        node.args.front().get_ref<const std::string&>());
    case Op::all:
        return contains_all(node.args, value);
    case Op::elem_match:
        return value.is_array() && std::any_of(value.begin(), value.end(), sub_matches);
    case Op::all_match:
        return value.is_array() && !value.empty() &&
               std::all_of(value.begin(), value.end(), sub_matches);
    case Op::key_map_match:
        if (value.is_object()) {
            for (const auto& member : value.items()) {
                if (sub_matches(json(member.key()))) {
                    return true;
                }
            }
        }
        return false;
    case Op::all_of:
    case Op::any_of:
        break;
    }
    return false;
}

bool evaluate(const Node& node, const json& value)
{
    const auto holds = [&value](const Node& child) { return evaluate(child, value); };
    if (node.op == Op::all_of) {
        return std::all_of(node.children.begin(), node.children.end(), holds);
    }
    if (node.op == Op::any_of) {
        // CouchDB 3 treats an empty $or as true, like an empty $and.
        return node.children.empty() ||
               std::any_of(node.children.begin(), node.children.end(), holds);
    }
    const json* field = &value;
    if (node.path) {
        const Lookup lookup = find_field(field, *node.path);
        if (lookup == Lookup::missing) {
            return node.op == Op::exists && !node.should_exist;
        }
        if (lookup == Lookup::bad_path) {
            return false;
        }
    }
    return test(node, *field) != node.negated;
}

} // namespace

Selector::Selector(const nlohmann::json& selector)
{
    if (!selector.is_object()) {
        invalid(std::string("must be a JSON object, not ") + selector.type_name());
    }
    // Only the whole selector can be {} and match everything; deeper, {} means "equals {}".
    if (!selector.empty()) {
        m_root = std::make_shared<const Node>(compile(selector, Scope{}));
    }
}

bool Selector::matches(const nlohmann::json& doc) const
{
    // CouchDB documents are objects; without this check "0" would index into an array doc.
    return !m_root || (doc.is_object() && evaluate(*m_root, doc));
}

} // namespace edw
