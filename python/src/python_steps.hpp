// Python steps: an edw.Step (edw/__init__.py) as the C++ runtime's Step.
#pragma once

#include <edw/step/step.hpp>

#include <pybind11/pybind11.h>

namespace edw::python {

/// The C++ step for `spec`, an edw.Step: its callback takes the GIL only while Python runs.
/// Throws what a bad selector or state machine definition throws (ConfigError, JsonError).
/// Needs the GIL.
Step python_step(pybind11::handle spec);

} // namespace edw::python
