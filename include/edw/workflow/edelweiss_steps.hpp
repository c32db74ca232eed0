// EdelweissSteps: the two processing steps of the EDELWEISS example pipeline.
#pragma once

#include <edw/step/step.hpp>

#include <string>

namespace edw::edelweiss {

/// Where the simulated steps say they put files.
struct SiteOptions {
    std::string hostname; ///< The processing host named in entries; empty: this machine.
    std::string data_directory = "/sps/edelweiss/data"; ///< Where moved raw files land.
};

/// `move_to_sps` for new documents: moves the raw file named by `original_file` to the batch
/// processing system (simulated). Entry fields: hostname, file (the moved path), md5sum (the
/// file's checksum, unchanged by a move), log.
Step move_to_sps(const SiteOptions& site = {});

/// `signal_processing` after `move_to_sps`: turns the moved file into its amplitude file
/// `<name>.amp.root` (simulated). Entry fields: hostname, file, md5sum (of the new file), log.
Step signal_processing(const SiteOptions& site = {});

} // namespace edw::edelweiss
