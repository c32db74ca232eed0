// The parts of the module edw._core, each bound by its own file.
#pragma once

#include <pybind11/pybind11.h>

namespace edw::python {

void bind_errors(pybind11::module_& module);   ///< edw's C++ errors as edw.errors classes
void bind_steps(pybind11::module_& module);    ///< run_listener: Python steps as a listener
void bind_database(pybind11::module_& module); ///< Database, open, status, metadata_make
void bind_log(pybind11::module_& module);      ///< log lines into the listener's log
void bind_bench(pybind11::module_& module);    ///< the bench listener and callback timings

} // namespace edw::python
