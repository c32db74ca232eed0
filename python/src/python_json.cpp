// Python values <-> JSON through the C API: no text in between, one object per value.
#include "python_json.hpp"

#include <cmath>

namespace py = pybind11;

namespace edw::python {

py::object to_python(const nlohmann::json& value)
{
    using Type = nlohmann::json::value_t;
    switch (value.type()) {
    case Type::null:
    case Type::discarded:
        return py::none();
    case Type::boolean:
        return py::bool_(value.get<bool>());
    case Type::number_integer:
        return py::reinterpret_steal<py::object>(PyLong_FromLongLong(value.get<long long>()));
    case Type::number_unsigned:
        return py::reinterpret_steal<py::object>(
            PyLong_FromUnsignedLongLong(value.get<unsigned long long>()));
    case Type::number_float:
        return py::reinterpret_steal<py::object>(PyFloat_FromDouble(value.get<double>()));
    case Type::string: {
        const auto& text = value.get_ref<const std::string&>();
        PyObject* string =
            PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
        if (string == nullptr) {
            throw py::error_already_set();
        }
        return py::reinterpret_steal<py::object>(string);
    }
    case Type::array: {
        py::list list(value.size());
        std::size_t index = 0;
        for (const auto& element : value) {
            // PyList_SET_ITEM steals the reference that release() hands over.
            PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(index++),
                            to_python(element).release().ptr());
        }
        return list;
    }
    case Type::object: {
        py::dict dict;
        for (const auto& [key, element] : value.items()) {
            const py::str name(key);
            if (PyDict_SetItem(dict.ptr(), name.ptr(), to_python(element).ptr()) != 0) {
                throw py::error_already_set();
            }
        }
        return dict;
    }
    case Type::binary:
        break;
    }
    throw py::type_error("a binary JSON value has no Python form");
}

nlohmann::json to_json(py::handle value, const std::string& what)
{
    PyObject* object = value.ptr();
    if (object == Py_None) {
        return nullptr;
    }
    if (PyBool_Check(object)) {
        return object == Py_True;
    }
    if (PyLong_Check(object)) {
        int overflow = 0;
        const long long number = PyLong_AsLongLongAndOverflow(object, &overflow);
        if (overflow == 0) {
            return number;
        }
        if (overflow > 0) {
            const unsigned long long big = PyLong_AsUnsignedLongLong(object);
            if (!PyErr_Occurred()) {
                return big;
            }
            PyErr_Clear();
        }
        throw py::type_error(
            what + " is an integer too large for JSON: " + py::str(value).cast<std::string>());
    }
    if (PyFloat_Check(object)) {
        const double number = PyFloat_AS_DOUBLE(object);
        if (!std::isfinite(number)) {
            throw py::type_error(what + " is " + py::str(value).cast<std::string>() +
                                 ", which JSON cannot hold");
        }
        return number;
    }
    if (PyUnicode_Check(object)) {
        Py_ssize_t size = 0;
        const char* text = PyUnicode_AsUTF8AndSize(object, &size);
        if (text == nullptr) {
            throw py::error_already_set();
        }
        return std::string(text, static_cast<std::size_t>(size));
    }
    if (PyDict_Check(object)) {
        nlohmann::json result = nlohmann::json::object();
        PyObject* key = nullptr;
        PyObject* element = nullptr;
        Py_ssize_t position = 0;
        while (PyDict_Next(object, &position, &key, &element)) {
            if (!PyUnicode_Check(key)) {
                throw py::type_error(what + " has the key " + py::repr(key).cast<std::string>() +
                                     ": JSON object keys are strings");
            }
            std::string name = py::handle(key).cast<std::string>();
            auto converted = to_json(element, what + "['" + name + "']");
            result[std::move(name)] = std::move(converted);
        }
        return result;
    }
    if (PyList_Check(object) || PyTuple_Check(object)) {
        const py::sequence sequence = py::reinterpret_borrow<py::sequence>(value);
        nlohmann::json result = nlohmann::json::array();
        const auto size = sequence.size();
        result.get_ref<nlohmann::json::array_t&>().reserve(size);
        for (std::size_t index = 0; index < size; ++index) {
            result.push_back(to_json(sequence[index], what + "[" + std::to_string(index) + "]"));
        }
        return result;
    }
    // numpy arrays and scalars (numpy.int64 is no int): their plain Python form.
    if (py::hasattr(value, "tolist")) {
        return to_json(value.attr("tolist")(), what);
    }
    throw py::type_error(what + " is a " +
                         py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>() +
                         ", which is not JSON (use dict, list, str, int, float, bool or None)");
}

} // namespace edw::python
