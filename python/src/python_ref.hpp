// PythonRef: a Python object that C++ threads may copy and drop without holding the GIL.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>

namespace edw::python {

/// Copies share one Python reference (copying a std::function that holds it touches no
/// reference count); the last copy drops it under the GIL.
using PythonRef = std::shared_ptr<pybind11::object>;

inline PythonRef hold(pybind11::object object)
{
    return PythonRef(new pybind11::object(std::move(object)), [](pybind11::object* held) {
        const pybind11::gil_scoped_acquire gil;
        delete held;
    });
}

} // namespace edw::python
