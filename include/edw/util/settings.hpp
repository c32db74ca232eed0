// Settings: where the database is and how to log in, from an INI file and the environment.
#pragma once

#include <edw/util/url.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace edw {

/// How requests prove who they come from.
enum class AuthMethod {
    none,   ///< No credentials are sent.
    basic,  ///< An `Authorization: Basic` header on every request.
    cookie, ///< One `POST /_session`, then its `AuthSession` cookie.
};

/// The `[edelweiss]` section: where the EDELWEISS steps find and put files. Paths are kept as
/// written; a relative one is relative to the directory the program runs in.
struct EdelweissSettings {
    /// Where move_to_sps copies raw files; empty: the steps only simulate their file work.
    std::string data_directory;
    std::string results_directory; ///< Where signal_processing writes; empty: data_directory.
    std::string hostname; ///< The host named in process entries; empty: this machine's name.
};

/// The connection settings every edw program starts from.
struct Settings {
    Url server;           ///< The server URL without credentials; `file:` for the embedded store.
    std::string database; ///< The database name.
    std::string username; ///< Empty when not logging in.
    std::string password; ///< Never printed: messages and logs show Url::str() only.
    AuthMethod auth = AuthMethod::none; ///< Defaults to basic when a username is set.
    std::string ca_file;                ///< An extra CA bundle for HTTPS; empty means the system's.
    bool verify_tls = true;             ///< Check the server's certificate and host name.
    std::string design = "process";     ///< The design doc's name, without `_design/`.
    std::string view = "lastproc";      ///< A view in that design doc.
    std::chrono::milliseconds request_timeout{30000}; ///< The longest one request may take.
    std::chrono::milliseconds heartbeat{10000}; ///< How often an idle changes feed sends a line.
    /// The embedded store's limit on one call of a design-doc function (CouchDB's
    /// os_process_timeout).
    std::chrono::milliseconds js_timeout{5000};
    EdelweissSettings edelweiss; ///< The EDELWEISS steps' directories, from `[edelweiss]`.
    std::string source; ///< Where the settings came from, for messages: `edw.ini` or `environment`.
};

/// Looks up an environment variable; nothing when it is unset. A seam, so that tests need not
/// touch the real environment.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;

/// The process's environment, through std::getenv.
[[nodiscard]] Environment process_environment();

/// Loads settings from the INI file `file`, then applies the environment (see parse_settings).
/// An empty `file` means `./edw.ini` when it exists, else the environment alone. Throws ConfigError
/// when a given file cannot be read ("cannot read <file>: <reason>") and as parse_settings does.
[[nodiscard]] Settings load_settings(const std::filesystem::path& file, const Environment& env);

/// Reads settings from INI text in Python ConfigParser syntax, then applies the environment.
///
/// The keys live in `[database]` (url, name, username, password, auth, ca_file, verify_tls,
/// design, view, timeout_ms, heartbeat_ms, js_timeout_ms) or in the legacy `[Cloudant]` of the
/// original EDELWEISS scripts (server, dbname, username, password, viewname); `[database]` wins key
/// by key. `[edelweiss]` (data_directory, results_directory, hostname) says where the EDELWEISS
/// steps put files; other sections are ignored. Credentials in the URL count unless username or
/// password are given. The variables EDW_URL, EDW_DB, EDW_USERNAME, EDW_PASSWORD, EDW_AUTH,
/// EDW_CA_FILE, EDW_DATA_DIRECTORY and EDW_RESULTS_DIRECTORY win over the text; one set to ""
/// counts as unset. `source` names the text in messages and in Settings. Throws ConfigError with
/// one line naming the source, the line or the section and key, and never the password: a
/// malformed line, an unknown or repeated key, a bad value, no known section, a server URL without
/// a database name, or an `[edelweiss]` results_directory without a data_directory.
///
/// With no URL at all, the database is the embedded store `file:edw-data/<name>.db`, the name
/// being `edw` when none is given either.
[[nodiscard]] Settings parse_settings(std::string_view ini_text, const std::string& source,
                                      const Environment& env);

} // namespace edw
