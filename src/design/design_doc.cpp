// Design docs: built from a folder of function files, loaded from JSON, compared for a push.
#include "edw/design/design_doc.hpp"

#include <edw/javascript/javascript_check.hpp>
#include <edw/javascript/javascript_engine.hpp>
#include <edw/status/pipeline_status.hpp>
#include <edw/status/state_counts.hpp>
#include <edw/util/error.hpp>
#include <edw/util/json_parse_reason.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace edw {

namespace fs = std::filesystem;

namespace {

// The reduce functions CouchDB runs natively; any other reduce.js text starting with '_' is
// most likely one of these misspelt, and the server would refuse it only at query time.
constexpr std::array<std::string_view, 4> built_in_reduces = {
    "_count",
    "_sum",
    "_stats",
    "_approx_count_distinct",
};

// Design doc fields that map a function name to its source, each from a folder of <name>.js.
constexpr std::array<std::string_view, 4> function_fields = {"filters", "updates", "shows",
                                                             "lists"};

constexpr std::string_view whitespace = " \t\r\n\f\v";

constexpr std::string_view expected_layout =
    "views/<view>/map.js, views/<view>/reduce.js, filters/<name>.js, updates/<name>.js, "
    "shows/<name>.js, lists/<name>.js, validate_doc_update.js, pipeline.json, states.json, "
    "language or _id";

struct FileCloser {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};

std::string trim(std::string_view text)
{
    const auto first = text.find_first_not_of(whitespace);
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(whitespace);
    return std::string(text.substr(first, last - first + 1));
}

// The system's text for an error, starting lower-case like every edw message.
std::string reason_of(const std::error_code& error)
{
    std::string reason = error.message();
    if (!reason.empty() && reason.front() >= 'A' && reason.front() <= 'Z') {
        reason.front() = static_cast<char>(reason.front() - 'A' + 'a');
    }
    return reason;
}

std::string system_reason(int error_number)
{
    return reason_of(std::error_code(error_number, std::generic_category()));
}

// stdio rather than iostreams, because fopen and fread leave the reason for a failure in errno.
std::string read_text(const fs::path& path)
{
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        throw ConfigError("cannot read " + path.string() + ": " + system_reason(errno));
    }
    std::string text;
    std::array<char, std::size_t{16} * 1024> buffer{};
    for (;;) {
        const std::size_t count = std::fread(buffer.data(), 1, buffer.size(), file.get());
        if (std::ferror(file.get()) != 0) {
            throw ConfigError("cannot read " + path.string() + ": " + system_reason(errno));
        }
        text.append(buffer.data(), count);
        if (count < buffer.size()) {
            break;
        }
    }
    // Some editors start UTF-8 files with a byte order mark, which no server expects in a source.
    if (text.starts_with("\xEF\xBB\xBF")) {
        text.erase(0, 3);
    }
    return text;
}

bool is_built_in_reduce(std::string_view source)
{
    return std::find(built_in_reduces.begin(), built_in_reduces.end(), source) !=
           built_in_reduces.end();
}

bool is_design_id(const nlohmann::json& id)
{
    return id.is_string() && id.get_ref<const std::string&>().starts_with("_design/") &&
           id.get_ref<const std::string&>().size() > 8;
}

// Why ES6 may be the cause, for a function that does not compile and uses ES6 syntax.
std::string es5_hint(const std::string& source)
{
    static const std::regex es6(R"((=>)|`|\b(let|class)\s)");
    if (!std::regex_search(source, es6)) {
        return {};
    }
    return " (edw expects design doc functions in ES5: `function (doc) {...}` and `var`; no "
           "arrow functions, `let`, classes or template strings)";
}

// Compiles functions in edw-js, the embedded store's engine, started once per design doc. A
// function that does not compile must be refused before it reaches any server: pouchdb-server
// stores it, and its view then stays empty and its filter passes nothing, without a word.
class FunctionCompiler {
public:
    void compile(std::string_view source, const std::string& file_name)
    {
        if (!m_engine) {
            m_engine.emplace();
        }
        const std::string text(source);
        try {
            m_engine->compile(text);
        } catch (const JsonError& error) {
            throw JsonError(file_name + ": does not compile: " + error.what() + es5_hint(text));
        }
    }

private:
    std::optional<JavaScriptEngine> m_engine;
};

// Checks one function source; `file_name` leads every message. A reduce may name a built-in.
void check_function(std::string_view source, const std::string& file_name, bool is_reduce,
                    FunctionCompiler& compiler)
{
    const auto first = source.find_first_not_of(whitespace);
    if (is_reduce && first != std::string_view::npos && source[first] == '_') {
        const std::string name = trim(source);
        if (!is_built_in_reduce(name)) {
            const auto line = 1 + std::count(source.begin(), source.begin() + first, '\n');
            throw JsonError(file_name + ":" + std::to_string(line) + ": unknown built-in reduce '" +
                            name + "' (expected _count, _sum, _stats or _approx_count_distinct)");
        }
        return;
    }
    check_javascript(source, file_name);
    compiler.compile(source, file_name);
}

// The name of the folder itself, also for "design-docs/process/" and ".".
std::string folder_name(const fs::path& folder)
{
    std::error_code error;
    fs::path absolute = fs::absolute(folder, error).lexically_normal();
    if (error) {
        absolute = folder.lexically_normal();
    }
    if (!absolute.has_filename()) {
        absolute = absolute.parent_path();
    }
    return absolute.filename().string();
}

bool is_skipped(const std::string& file_name)
{
    std::string lower = file_name.substr(0, 6);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return file_name.starts_with('.') || lower == "readme";
}

// The regular files of `folder` as paths relative to it, sorted so that errors come in a
// stable order, without dotfiles, dot-folders and README files.
std::vector<fs::path> list_files(const fs::path& folder)
{
    std::vector<fs::path> files;
    std::error_code error;
    auto entry = fs::recursive_directory_iterator(folder, error);
    for (; !error && entry != fs::recursive_directory_iterator(); entry.increment(error)) {
        const std::string name = entry->path().filename().string();
        if (is_skipped(name)) {
            if (entry->is_directory(error)) {
                entry.disable_recursion_pending();
            }
            continue;
        }
        if (entry->is_regular_file(error)) {
            files.push_back(entry->path().lexically_relative(folder));
        }
    }
    if (error) {
        throw ConfigError("cannot build a design doc from " + folder.string() + ": " +
                          reason_of(error));
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<std::string> parts_of(const fs::path& relative)
{
    std::vector<std::string> parts;
    for (const auto& part : relative) {
        parts.push_back(part.string());
    }
    return parts;
}

// Checks the functions of a design doc read from JSON, naming each as "<path>#<field>".
void check_functions(const nlohmann::json& doc, const fs::path& path)
{
    const std::string prefix = path.string() + "#";
    FunctionCompiler compiler;
    const auto check_source = [&](const nlohmann::json& source, const std::string& field,
                                  bool is_reduce) {
        if (!source.is_string()) {
            throw ConfigError("cannot load design doc " + path.string() + ": " + field +
                              " is not a string");
        }
        check_function(source.get_ref<const std::string&>(), prefix + field, is_reduce, compiler);
    };
    const auto object_field = [&](std::string_view field) -> const nlohmann::json* {
        const auto found = doc.find(field);
        if (found == doc.end()) {
            return nullptr;
        }
        if (!found->is_object()) {
            throw ConfigError("cannot load design doc " + path.string() + ": " +
                              std::string(field) + " is not an object");
        }
        return &*found;
    };
    if (const auto* views = object_field("views")) {
        for (const auto& [view, functions] : views->items()) {
            if (!functions.is_object() || !functions.contains("map")) {
                throw ConfigError("cannot load design doc " + path.string() + ": views." + view +
                                  " has no map function");
            }
            check_source(functions["map"], "views." + view + ".map", false);
            if (functions.contains("reduce")) {
                check_source(functions["reduce"], "views." + view + ".reduce", true);
            }
        }
    }
    for (const auto field : function_fields) {
        if (const auto* functions = object_field(field)) {
            for (const auto& [name, source] : functions->items()) {
                check_source(source, std::string(field) + "." + name, false);
            }
        }
    }
    if (doc.contains("validate_doc_update")) {
        check_source(doc["validate_doc_update"], "validate_doc_update", false);
    }
}

// pipeline.json (the pipeline's steps in order) or states.json (the state groups' display
// order), for edw status; checked as `check` (parse_pipeline, parse_states_declaration) reads it.
template <typename Check>
nlohmann::json read_status_declaration(const fs::path& file, Check&& check)
{
    const std::string text = read_text(file);
    nlohmann::json declaration;
    try {
        declaration = nlohmann::json::parse(text);
        check(declaration);
    } catch (const nlohmann::json::parse_error& error) {
        const std::string_view what = error.what();
        throw ConfigError(file.generic_string() +
                          ": not JSON: " + std::string(what.substr(what.find(' ') + 1)));
    } catch (const ConfigError& error) {
        throw ConfigError(file.generic_string() + ": " + error.what());
    }
    return declaration;
}

} // namespace

nlohmann::json build_design_doc(const fs::path& folder)
{
    const std::string failure = "cannot build a design doc from " + folder.string() + ": ";
    std::error_code error;
    if (!fs::is_directory(folder, error)) {
        // exists() clears the error for a path that is simply absent, and keeps any other.
        const bool exists = fs::exists(folder, error);
        throw ConfigError(failure + (error    ? reason_of(error)
                                     : exists ? std::string("not a folder")
                                              : std::string("no such folder")));
    }
    const std::vector<fs::path> files = list_files(folder);

    // The language and _id files come first: the language decides whether sources are checked.
    std::string language = "javascript";
    std::string id = "_design/" + folder_name(folder);
    for (const auto& file : files) {
        if (file == "language" || file == "_id") {
            std::string value = trim(read_text(folder / file));
            if (value.empty()) {
                throw ConfigError(failure + file.string() + " is empty");
            }
            (file == "language" ? language : id) = std::move(value);
        }
    }
    if (!is_design_id(id)) {
        throw ConfigError(failure + "_id holds '" + id + "', which does not start with _design/");
    }
    const bool is_javascript = language == "javascript";

    nlohmann::json doc = {{"_id", id}, {"language", language}};
    bool has_function = false;
    FunctionCompiler compiler;
    // Stores one function file's trimmed text at `field`, after checking it.
    const auto add = [&](const fs::path& file, const nlohmann::json::json_pointer& field,
                         bool is_reduce) {
        const fs::path full = folder / file;
        const std::string source = read_text(full);
        if (is_javascript) {
            check_function(source, full.generic_string(), is_reduce, compiler);
        }
        doc[field] = trim(source);
        has_function = true;
    };
    for (const auto& file : files) {
        const std::vector<std::string> parts = parts_of(file);
        const bool is_js = file.extension() == ".js" && !file.stem().empty();
        if (file == "language" || file == "_id") {
            continue;
        }
        if (parts.size() == 1 && parts[0] == "validate_doc_update.js") {
            add(file, nlohmann::json::json_pointer("/validate_doc_update"), false);
        } else if (parts.size() == 1 && parts[0] == "pipeline.json") {
            doc[pipeline_field] = read_status_declaration(
                folder / file, [](const nlohmann::json& json) { parse_pipeline(json); });
        } else if (parts.size() == 1 && parts[0] == "states.json") {
            doc[states_field] = read_status_declaration(
                folder / file, [](const nlohmann::json& json) { parse_states_declaration(json); });
        } else if (parts.size() == 2 && is_js &&
                   std::find(function_fields.begin(), function_fields.end(), parts[0]) !=
                       function_fields.end()) {
            add(file, nlohmann::json::json_pointer("/" + parts[0]) / file.stem().string(), false);
        } else if (parts.size() == 3 && parts[0] == "views" &&
                   (parts[2] == "map.js" || parts[2] == "reduce.js")) {
            add(file, nlohmann::json::json_pointer("/views") / parts[1] / file.stem().string(),
                parts[2] == "reduce.js");
        } else {
            throw ConfigError(failure + file.generic_string() +
                              " is not in a place a design doc field comes from (expected " +
                              std::string(expected_layout) + ")");
        }
    }
    if (!has_function) {
        throw ConfigError(failure + "it holds no views, filters, updates, shows, lists or "
                                    "validate_doc_update.js");
    }
    if (doc.contains("views")) {
        for (const auto& [view, functions] : doc["views"].items()) {
            if (!functions.contains("map")) {
                throw ConfigError(failure + "views/" + view + "/reduce.js has no map.js beside it");
            }
        }
    }
    return doc;
}

nlohmann::json load_design_doc(const fs::path& path)
{
    const std::string failure = "cannot load design doc " + path.string() + ": ";
    std::error_code error;
    if (fs::is_directory(path, error)) {
        return build_design_doc(path);
    }
    if (!fs::exists(path, error)) {
        throw ConfigError(failure + (error ? reason_of(error) : "no such file or folder"));
    }
    if (path.extension() != ".json") {
        throw ConfigError(failure + "expected a folder or a .json file");
    }
    const std::string text = read_text(path);
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& parse_error) {
        throw JsonError(failure + "not valid JSON: " + json_parse_reason(parse_error));
    }
    if (!doc.is_object()) {
        throw ConfigError(failure + "not a JSON object");
    }
    if (!is_design_id(doc.value("_id", nlohmann::json()))) {
        throw ConfigError(failure + "its _id does not start with _design/");
    }
    // The file's rev is whatever it was saved with, and means nothing to the database it is
    // pushed to; the push takes the rev from the server.
    doc.erase("_rev");
    const auto language = doc.find("language");
    if (language == doc.end() || *language == "javascript") {
        check_functions(doc, path);
    }
    return doc;
}

bool same_design_content(const nlohmann::json& a, const nlohmann::json& b)
{
    if (!a.is_object() || !b.is_object()) {
        return a == b;
    }
    nlohmann::json a_content = a;
    nlohmann::json b_content = b;
    a_content.erase("_rev");
    b_content.erase("_rev");
    return a_content == b_content;
}

} // namespace edw
