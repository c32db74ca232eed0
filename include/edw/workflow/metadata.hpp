// Metadata documents: the EDELWEISS-shaped JSON document that stands for one data file.
#pragma once

#include <edw/db/database.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace edw {

/// True for an id shaped like a metadata doc's: a run name (a letter, then letters and digits,
/// ending in digits), `_`, and a file number in digits, as in "ma22a000_000".
[[nodiscard]] bool is_metadata_id(std::string_view id);

/// The run after the one in `highest_existing_id`: "ma22a000_029" gives "ma22a001", and
/// "ma22a999_000" gives "ma22a1000". The run counter is the run name's trailing digits, kept at
/// least 3 wide. The highest id must be found by the caller with the run counters compared as
/// numbers, since "ma22a999" sorts after "ma22a1000" as text.
///
/// Returns "ma22a000", the first run, for std::nullopt (an empty database) and for an id that
/// is_metadata_id refuses, which cannot belong to any run. Throws nothing.
[[nodiscard]] std::string next_run_name(const std::optional<std::string>& highest_existing_id);

/// The metadata doc for file `file_number` (0 or more) of `run`:
///
///     _id "<run>_<file number, 3 digits at least>", status "good", run, datecreated,
///     md5sum (standing for the file's checksum), process [], original_file
///     "/mnt/data/<_id>.root", conditions {volts: {detector_a: [8, -8, 2, -2],
///     detector_b: [4, -4, 1.5, -1.5]}, temperature: 0.015 K plus up to 0.001 K of noise}.
///
/// `datecreated` is in seconds since the epoch. The md5sum and temperature are drawn from `rng`,
/// the same way with every standard library, so a seeded rng gives the same doc everywhere.
/// Throws StoreError when OpenSSL cannot compute MD5.
[[nodiscard]] nlohmann::json make_metadata_doc(const std::string& run, int file_number,
                                               double datecreated, std::mt19937_64& rng);

/// Gives `doc` a real raw file: writes the synthetic traces of its `_id` (trace_file.hpp) to
/// `<directory>/<_id>.edwtrace` (crash-safe: a temporary file, fsync, rename), and sets the doc's
/// `original_file` to that path and its `md5sum` to the file's MD5. The same id gives the same
/// bytes, so writing again is harmless. Throws StoreError naming the file and the cause.
void attach_raw_file(nlohmann::json& doc, const std::filesystem::path& directory);

/// True when any doc of `run` exists in `database` (ids "<run>_<number>").
[[nodiscard]] bool run_exists(Database& database, const std::string& run);

/// The run after the highest one in `database` that has no docs yet ("ma22a000" when empty).
[[nodiscard]] std::string next_free_run(Database& database);

/// What make_metadata_run wrote.
struct MetadataRun {
    std::string run;
    int created = 0;
    /// "<id> (<error>)" for each doc the database refused (an existing doc is never replaced).
    std::vector<std::string> refused;
};

/// Writes `count` metadata docs of `run` with `_bulk_docs` of `batch` docs each, calling
/// `advance(docs written)` after each request when given. A doc that exists already is refused
/// by the database, and listed as such. The caller has chosen `run` (see make_metadata_run).
/// With a `raw_file_directory` (created when missing), each doc gets its raw file there
/// (attach_raw_file) before any doc of its batch is written, so that no doc names a file that
/// was never made; without one, docs name `/mnt/data/<_id>.root` as the original scripts' did.
MetadataRun write_metadata_run(Database& database, const std::string& run, int count, int batch,
                               const std::function<void(std::uint64_t)>& advance = {},
                               const std::filesystem::path& raw_file_directory = {});

/// write_metadata_run for `run`, or for next_free_run when `run` is empty. Throws ConfigError,
/// before writing anything, when `run` is given and already has docs.
MetadataRun make_metadata_run(Database& database, std::string run, int count, int batch,
                              const std::function<void(std::uint64_t)>& advance = {});

} // namespace edw
