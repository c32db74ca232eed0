// Settings: the INI reader, the legacy [Cloudant] mapping and the environment overrides.
#include "edw/util/settings.hpp"

#include <edw/util/error.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>

namespace edw {

namespace {

const std::set<std::string, std::less<>> database_keys = {
    "url",    "name", "username",   "password",   "auth",         "ca_file",
    "design", "view", "verify_tls", "timeout_ms", "heartbeat_ms", "js_timeout_ms"};
const std::set<std::string, std::less<>> cloudant_keys = {"server", "dbname", "username",
                                                          "password", "viewname"};
const std::set<std::string, std::less<>> edelweiss_keys = {"data_directory", "results_directory",
                                                           "hostname"};

struct Entry {
    std::string value;
    int line = 0;
};

// One of the sections we read, as found in the text.
struct Section {
    bool is_present = false;
    std::string name; // as written, so that messages match the file
    std::map<std::string, Entry, std::less<>> entries;
};

struct Ini {
    Section database;
    Section cloudant;
    Section edelweiss;
};

// A setting's text and where it came from, the prefix of any message about it.
struct Value {
    std::string text;
    std::string where;
    bool is_from_environment = false;
};

std::string_view trim(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\r\f\v");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r\f\v");
    return text.substr(first, last - first + 1);
}

std::string lower(std::string_view text)
{
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return result;
}

std::string join(const std::set<std::string, std::less<>>& keys)
{
    std::string result;
    for (const auto& key : keys) {
        result += (result.empty() ? "" : ", ") + key;
    }
    return result;
}

// `edw.ini: [database] url`, the start of a message about one key.
std::string key_where(const std::string& source, const Section& section, std::string_view key)
{
    return source + ": [" + section.name + "] " + std::string(key);
}

[[noreturn]] void fail_at_line(const std::string& source, int number, const std::string& why)
{
    throw ConfigError(source + ": line " + std::to_string(number) + ": " + why);
}

// Python ConfigParser syntax, as the original scripts read the file: the first `=` or `:` splits
// key from value, keys are case-insensitive, and only whole lines are comments, so that a `;` or
// `#` inside a password stays part of it.
Ini read_ini(std::string_view text, const std::string& source)
{
    Ini ini;
    Section* section = nullptr;
    bool is_in_section = false;
    int number = 0;
    while (!text.empty() || number == 0) {
        ++number;
        const auto newline = text.find('\n');
        auto line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        if (number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") {
            line.remove_prefix(3); // the byte-order mark some Windows editors write
        }
        line = trim(line);
        if (line.empty() || line.front() == '#' || line.front() == ';') {
            continue;
        }
        if (line.front() == '[') {
            const auto name = trim(line.substr(1, line.size() - 1 - (line.back() == ']' ? 1 : 0)));
            if (line.back() != ']' || name.empty()) {
                fail_at_line(source, number, "expected 'key = value' or '[section]'");
            }
            const auto key = lower(name);
            section = key == "database"    ? &ini.database
                      : key == "cloudant"  ? &ini.cloudant
                      : key == "edelweiss" ? &ini.edelweiss
                                           : nullptr;
            is_in_section = true;
            if (section != nullptr && !section->is_present) {
                section->is_present = true;
                section->name = name;
            }
            continue;
        }
        const auto separator = line.find_first_of("=:");
        const auto key = lower(trim(line.substr(0, separator)));
        if (separator == std::string_view::npos || key.empty()) {
            // The line is not quoted: it may be a password that lost its `password =`.
            fail_at_line(source, number, "expected 'key = value' or '[section]'");
        }
        if (!is_in_section) {
            fail_at_line(source, number, "'" + key + "' comes before any [section]");
        }
        if (section == nullptr) {
            continue; // a section for another part of edw, or for another program
        }
        const auto& known = section == &ini.database   ? database_keys
                            : section == &ini.cloudant ? cloudant_keys
                                                       : edelweiss_keys;
        if (known.find(key) == known.end()) {
            // ConfigParser also splits at ':', so `url file:x.db` reads as the key "url file".
            const bool spaced = key.find_first_of(" \t") != std::string::npos;
            fail_at_line(source, number,
                         "[" + section->name + "] " + key + ": unknown key" +
                             (spaced ? " (expected 'key = value': is the '=' missing?)" : "") +
                             " (known: " + join(known) + ")");
        }
        const auto [entry, is_new] = section->entries.try_emplace(
            key, Entry{.value = std::string(trim(line.substr(separator + 1))), .line = number});
        if (!is_new) {
            throw ConfigError(key_where(source, *section, key) + ": given twice (lines " +
                              std::to_string(entry->second.line) + " and " +
                              std::to_string(number) + ")");
        }
    }
    return ini;
}

// The names of one setting: its key in [database], in the legacy [Cloudant] (empty when it has
// none) and its environment variable (empty when only the file sets it).
struct Names {
    std::string_view key;
    std::string_view legacy_key = {};
    std::string_view variable = {};
};

// Where edw keeps its data when no server is configured: the embedded store, in the directory the
// program runs in, as a physicist trying edw expects.
constexpr std::string_view default_store_directory = "edw-data";
constexpr std::string_view default_database = "edw";

constexpr Names url_names{.key = "url", .legacy_key = "server", .variable = "EDW_URL"};
constexpr Names name_names{.key = "name", .legacy_key = "dbname", .variable = "EDW_DB"};
constexpr Names username_names{
    .key = "username", .legacy_key = "username", .variable = "EDW_USERNAME"};
constexpr Names password_names{
    .key = "password", .legacy_key = "password", .variable = "EDW_PASSWORD"};
constexpr Names auth_names{.key = "auth", .variable = "EDW_AUTH"};
constexpr Names ca_file_names{.key = "ca_file", .variable = "EDW_CA_FILE"};
constexpr Names data_directory_names{.key = "data_directory", .variable = "EDW_DATA_DIRECTORY"};
constexpr Names results_directory_names{.key = "results_directory",
                                        .variable = "EDW_RESULTS_DIRECTORY"};

// The file, when there is one, and the environment, read setting by setting.
class Sources {
public:
    Sources(const Ini* ini, const std::string& source, const Environment& env)
        : m_ini(ini)
        , m_source(source)
        , m_env(env)
    {}

    // The environment's value, else the file's.
    [[nodiscard]] std::optional<Value> value(const Names& names) const
    {
        auto found = environment_value(names);
        return found ? found : file_value(names);
    }

    [[nodiscard]] std::optional<Value> environment_value(const Names& names) const
    {
        if (names.variable.empty()) {
            return std::nullopt;
        }
        const std::string variable(names.variable);
        auto text = m_env(variable);
        if (!text || text->empty()) {
            return std::nullopt;
        }
        return Value{.text = std::move(*text),
                     .where = "environment variable " + variable,
                     .is_from_environment = true};
    }

    // The key in [database], else the legacy key in [Cloudant].
    [[nodiscard]] std::optional<Value> file_value(const Names& names) const
    {
        if (m_ini == nullptr) {
            return std::nullopt;
        }
        if (auto value = find(m_ini->database, names.key)) {
            return value;
        }
        return names.legacy_key.empty() ? std::nullopt : find(m_ini->cloudant, names.legacy_key);
    }

    [[nodiscard]] std::optional<Value> find(const Section& section, std::string_view key) const
    {
        const auto entry = section.entries.find(key);
        if (entry == section.entries.end()) {
            return std::nullopt;
        }
        return Value{.text = entry->second.value, .where = key_where(m_source, section, key)};
    }

    [[nodiscard]] std::optional<Value> legacy_value(std::string_view key) const
    {
        return m_ini == nullptr ? std::nullopt : find(m_ini->cloudant, key);
    }

    // A key of [edelweiss], the environment first.
    [[nodiscard]] std::optional<Value> edelweiss_value(const Names& names) const
    {
        if (auto found = environment_value(names)) {
            return found;
        }
        return m_ini == nullptr ? std::nullopt : find(m_ini->edelweiss, names.key);
    }

    // A required setting that neither gave. `meaning` says what it is, since the key may not.
    [[noreturn]] void fail_missing(const Names& names, std::string_view meaning) const
    {
        std::string message;
        if (m_ini == nullptr) {
            message = m_source + ": " + std::string(names.variable) +
                      " is not set and there is no ./edw.ini";
        } else if (m_ini->database.is_present) {
            message = key_where(m_source, m_ini->database, names.key) + ": missing";
        } else {
            message = key_where(m_source, m_ini->cloudant, names.legacy_key) + ": missing";
        }
        throw ConfigError(message + " (" + std::string(meaning) + ")");
    }

private:
    const Ini* m_ini;
    const std::string& m_source;
    const Environment& m_env;
};

[[noreturn]] void fail(const Value& value, const std::string& why)
{
    throw ConfigError(value.where + ": " + why);
}

Url parse_url(const Value& value)
{
    try {
        return Url::parse(value.text);
    } catch (const ConfigError& error) {
        fail(value, error.what()); // the message already hides the credentials
    }
}

// CouchDB's rule for database names, checked here so that a typo fails at start-up rather than as
// an HTTP 400 in the middle of a run. https://docs.couchdb.org/en/stable/api/database/common.html
void check_database_name(const Value& value)
{
    const auto& name = value.text;
    const bool is_valid = !name.empty() && name.front() >= 'a' && name.front() <= 'z' &&
                          std::all_of(name.begin(), name.end(), [](char c) {
                              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                     std::string_view("_$()+-/").find(c) != std::string_view::npos;
                          });
    if (!is_valid) {
        fail(value, "'" + name +
                        "' is not a CouchDB database name (a lower-case letter, then a-z 0-9 _ $ ( "
                        ") + - /)");
    }
}

AuthMethod parse_auth(const Value& value)
{
    const auto text = lower(value.text);
    if (text == "none") {
        return AuthMethod::none;
    }
    if (text == "basic") {
        return AuthMethod::basic;
    }
    if (text == "cookie") {
        return AuthMethod::cookie;
    }
    fail(value, "expected none, basic or cookie, not '" + value.text + "'");
}

// The words ConfigParser.getboolean() takes, so a value the old scripts accepted works here too.
bool parse_bool(const Value& value)
{
    const auto text = lower(value.text);
    if (text == "true" || text == "yes" || text == "on" || text == "1") {
        return true;
    }
    if (text == "false" || text == "no" || text == "off" || text == "0") {
        return false;
    }
    fail(value, "expected true or false, not '" + value.text + "'");
}

std::chrono::milliseconds parse_milliseconds(const Value& value)
{
    const auto& text = value.text;
    long long count = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || count <= 0) {
        fail(value, "expected a positive whole number of milliseconds, not '" + text + "'");
    }
    return std::chrono::milliseconds(count);
}

// A design doc or view name: one path segment. `_design/` is dropped from a design doc's name,
// since that is how it appears in the server's URLs and is easy to copy from there.
std::string parse_name(const Value& value, std::string_view prefix = {})
{
    auto name = std::string_view(value.text);
    if (!prefix.empty() && name.substr(0, prefix.size()) == prefix) {
        name.remove_prefix(prefix.size());
    }
    if (name.empty() || name.find('/') != std::string_view::npos) {
        fail(value, "expected a name without '/', not '" + value.text + "'");
    }
    return std::string(name);
}

// The legacy `viewname = _design/<design>/_view/<view>`, split into its two names.
std::pair<std::string, std::string> parse_viewname(const Value& value)
{
    constexpr std::string_view design_prefix = "_design/";
    constexpr std::string_view view_infix = "/_view/";
    const std::string_view text = value.text;
    const auto infix = text.find(view_infix);
    const bool is_valid = text.substr(0, design_prefix.size()) == design_prefix &&
                          infix != std::string_view::npos && infix > design_prefix.size();
    const auto design =
        is_valid ? text.substr(design_prefix.size(), infix - design_prefix.size()) : "";
    const auto view = is_valid ? text.substr(infix + view_infix.size()) : "";
    if (!is_valid || design.find('/') != std::string_view::npos || view.empty() ||
        view.find('/') != std::string_view::npos) {
        fail(value, "expected '_design/<design>/_view/<view>', not '" + value.text + "'");
    }
    return {std::string(design), std::string(view)};
}

// A directory or host name: any text, but not none, since an empty value would quietly mean
// "simulate" or "this machine" when the line says otherwise.
std::string parse_nonempty(const Value& value, std::string_view what)
{
    if (value.text.empty()) {
        fail(value, "empty; give " + std::string(what) + ", or leave the key out");
    }
    return value.text;
}

// [edelweiss]: whether the EDELWEISS steps do real file work, and where.
EdelweissSettings resolve_edelweiss(const Sources& sources)
{
    EdelweissSettings edelweiss;
    if (const auto value = sources.edelweiss_value(data_directory_names)) {
        edelweiss.data_directory = parse_nonempty(*value, "a directory");
    }
    if (const auto value = sources.edelweiss_value(results_directory_names)) {
        edelweiss.results_directory = parse_nonempty(*value, "a directory");
        if (edelweiss.data_directory.empty()) {
            fail(*value, "needs data_directory: without it the steps only simulate and write no "
                         "results");
        }
    }
    if (const auto value = sources.edelweiss_value({.key = "hostname"})) {
        edelweiss.hostname = parse_nonempty(*value, "a host name");
    }
    return edelweiss;
}

// Resolves every setting from the file and the environment.
Settings resolve(const Sources& sources, const std::string& source)
{
    Settings settings;
    settings.source = source;

    const auto url_value = sources.value(url_names);
    const auto name_value = sources.value(name_names);
    if (url_value) {
        if (!name_value) {
            sources.fail_missing(name_names, "the database name");
        }
        check_database_name(*name_value);
        settings.database = name_value->text;
    } else {
        // No server configured: the embedded store, in a file named after the database.
        if (name_value) {
            check_database_name(*name_value);
        }
        settings.database = name_value ? name_value->text : std::string(default_database);
    }
    const auto url = url_value ? parse_url(*url_value)
                               : Url::parse("file:" + std::string(default_store_directory) + "/" +
                                            settings.database + ".db");
    settings.server = url.without_credentials();

    // Each source's own username and password keys win over the credentials in its URL, and the
    // environment wins over the file.
    const auto credential = [&](const Names& names, const std::string& in_url) {
        if (auto value = sources.environment_value(names)) {
            return value->text;
        }
        if (url_value && url_value->is_from_environment && !in_url.empty()) {
            return in_url;
        }
        if (auto value = sources.file_value(names)) {
            return value->text;
        }
        return in_url;
    };
    settings.username = credential(username_names, url.username());
    settings.password = credential(password_names, url.password());

    if (const auto value = sources.value(auth_names)) {
        settings.auth = parse_auth(*value);
        if (settings.auth != AuthMethod::none && settings.username.empty()) {
            fail(*value, "'" + value->text + "' needs a username");
        }
    } else {
        settings.auth = settings.username.empty() ? AuthMethod::none : AuthMethod::basic;
    }

    if (auto value = sources.value(ca_file_names)) {
        settings.ca_file = std::move(value->text);
    }
    if (const auto value = sources.file_value({.key = "verify_tls"})) {
        settings.verify_tls = parse_bool(*value);
    }

    // Checked even when [database] overrides both halves: a broken line should not sit unnoticed.
    if (const auto value = sources.legacy_value("viewname")) {
        std::tie(settings.design, settings.view) = parse_viewname(*value);
    }
    if (const auto value = sources.file_value({.key = "design"})) {
        settings.design = parse_name(*value, "_design/");
    }
    if (const auto value = sources.file_value({.key = "view"})) {
        settings.view = parse_name(*value);
    }

    if (const auto value = sources.file_value({.key = "timeout_ms"})) {
        settings.request_timeout = parse_milliseconds(*value);
    }
    if (const auto value = sources.file_value({.key = "heartbeat_ms"})) {
        settings.heartbeat = parse_milliseconds(*value);
    }
    if (const auto value = sources.file_value({.key = "js_timeout_ms"})) {
        settings.js_timeout = parse_milliseconds(*value);
    }
    settings.edelweiss = resolve_edelweiss(sources);
    return settings;
}

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

enum class IfMissing { fail, skip };

// The whole file, or nothing when it does not exist and `if_missing` is skip.
std::optional<std::string> read_file(const std::filesystem::path& path, IfMissing if_missing)
{
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        if (if_missing == IfMissing::skip && errno == ENOENT) {
            return std::nullopt;
        }
        throw ConfigError("cannot read " + path.string() + ": " + std::strerror(errno));
    }
    std::string text;
    std::array<char, 4096> buffer{};
    std::size_t count = 0;
    while ((count = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
        text.append(buffer.data(), count);
    }
    if (std::ferror(file.get()) != 0) {
        throw ConfigError("cannot read " + path.string() + ": " + std::strerror(errno));
    }
    return text;
}

} // namespace

Environment process_environment()
{
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string(value);
    };
}

Settings load_settings(const std::filesystem::path& file, const Environment& env)
{
    if (file.empty()) {
        const std::filesystem::path fallback = "edw.ini";
        if (auto text = read_file(fallback, IfMissing::skip)) {
            return parse_settings(*text, fallback.string(), env);
        }
        const std::string source = "environment";
        return resolve(Sources(nullptr, source, env), source);
    }
    return parse_settings(*read_file(file, IfMissing::fail), file.string(), env);
}

Settings parse_settings(std::string_view ini_text, const std::string& source,
                        const Environment& env)
{
    const auto ini = read_ini(ini_text, source);
    if (!ini.database.is_present && !ini.cloudant.is_present) {
        throw ConfigError(source + ": no [database] or [Cloudant] section");
    }
    return resolve(Sources(&ini, source, env), source);
}

} // namespace edw
