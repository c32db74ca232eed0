// Python values <-> JSON: what crosses between a Python step and the C++ runtime.
#pragma once

#include <nlohmann/json.hpp>

#include <pybind11/pybind11.h>

#include <string>

namespace edw::python {

/// A JSON value as the Python value `json.loads` would give (dict, list, str, int, float, bool,
/// None). Needs the GIL.
pybind11::object to_python(const nlohmann::json& value);

/// A Python value as JSON: dict (str keys), list, tuple, str, int, float, bool, None, and
/// anything with `tolist()` (numpy arrays and scalars). Throws pybind11::type_error naming where
/// in `what` the value is that JSON cannot hold (a set, a NaN, an int key). Needs the GIL.
nlohmann::json to_json(pybind11::handle value, const std::string& what = "the value");

} // namespace edw::python
