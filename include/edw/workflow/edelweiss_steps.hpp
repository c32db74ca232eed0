// EdelweissSteps: the two processing steps of the EDELWEISS example pipeline.
#pragma once

#include <edw/step/step.hpp>
#include <edw/util/settings.hpp>

#include <string>

namespace edw::edelweiss {

/// Whether the steps touch files.
enum class FileWork {
    /// Entries name where the files would be, and nothing is read or written, as the original
    /// scripts do: their docs name files that exist on no machine here.
    simulated,
    /// move_to_sps copies and checks the raw file, signal_processing reads it and writes a result.
    real,
};

/// Where the steps put files, and whether they really do.
struct SiteOptions {
    // Each member has an initializer, so that callers may name only some (designated
    // initializers) without a missing-initializer warning.
    std::string hostname{}; ///< The processing host named in entries; empty: this machine.
    std::string data_directory = "/sps/edelweiss/data"; ///< Where moved raw files land.
    std::string results_directory{}; ///< Where result files land; empty: data_directory.
    FileWork file_work = FileWork::simulated;
};

/// The site that `settings.edelweiss` (`[edelweiss]` in edw.ini) describes: real file work in its
/// directories, made absolute against the working directory, when data_directory is set;
/// otherwise the simulation, with the default directory. Throws ConfigError naming the key when a
/// directory given does not exist or cannot be written.
[[nodiscard]] SiteOptions site_options(const Settings& settings);

/// One line for a listener's log at start, saying whether the steps simulate and, if they do
/// not, where they read and write. `source` names the settings (edw.ini).
[[nodiscard]] std::string describe_file_work(const SiteOptions& site, const std::string& source);

/// What the EDELWEISS listeners' --help says about files: the [edelweiss] settings, and the
/// simulation without them.
[[nodiscard]] std::string file_work_help();

/// `move_to_sps` for new documents: moves the raw file named by `original_file` to the batch
/// processing system. Entry fields: hostname, file (the moved path), md5sum (the file's
/// checksum), log.
///
/// Simulated, the entry names `<data_directory>/<file name>`, keeps the doc's md5sum, and its log
/// starts "simulated: ". For real, the file is copied into data_directory (copy_checked: a
/// temporary file, fsync, rename), its MD5 computed on the way and compared with the doc's
/// `md5sum` when the doc has one; a missing or unreadable file, a checksum mismatch or a full
/// disk throws StoreError with the reason, which the runner records on the doc and retries.
Step move_to_sps(const SiteOptions& site = {});

/// `signal_processing` after `move_to_sps`: computes the pulse amplitudes of the moved file.
/// Entry fields: hostname, file (the result), md5sum (of the result), log.
///
/// Simulated, the entry names `<moved file without .root>.amp.root` and a checksum standing for
/// it, and its log starts "simulated: ". For real, the moved file (a trace file, trace_file.hpp)
/// is read and checked against the move's md5sum, the amplitude statistics of each channel are
/// written as JSON to `<results_directory>/<file name without extension>.amplitudes.json` (the
/// same crash-safe way), and the entry adds `amplitudes`: the pulse count and highest amplitude
/// of each channel. A missing or malformed file throws StoreError with the reason.
Step signal_processing(const SiteOptions& site = {});

} // namespace edw::edelweiss
