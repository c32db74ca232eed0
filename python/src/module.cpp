// edw._core: the C++ library as seen from Python. The API users write against is edw/__init__.py.
#include "python_bindings.hpp"

#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/log.hpp>
#include <edw/util/url.hpp>
#include <edw/util/version.hpp>

#include <pybind11/stl.h>

namespace py = pybind11;

namespace edw::python {

void bind_log(py::module_& module)
{
    module.def(
        "log",
        [](const std::string& level, const std::string& message) {
            const LogLevel parsed = parse_log_level(level);
            const py::gil_scoped_release release; // a log file write may wait on the disk
            edw::log(parsed, message);
        },
        py::arg("level"), py::arg("message"),
        "Writes one line to the listener's log (stderr, or --log-file) at debug, info, warning "
        "or error, credentials masked.");
}

void bind_errors(py::module_& /*module*/)
{
    // Each C++ error becomes the edw.errors class a caller branches on, with the exit status a
    // command would end with (exit_status) and, for HTTP errors, the server's answer.
    py::register_exception_translator([](std::exception_ptr pointer) {
        try {
            std::rethrow_exception(pointer);
        } catch (const Error& error) {
            const py::module_ errors = py::module_::import("edw.errors");
            const char* kind = "Error";
            py::dict fields;
            if (const auto* http = dynamic_cast<const HttpError*>(&error)) {
                kind = http->is_conflict()    ? "Conflict"
                       : http->is_not_found() ? "NotFound"
                                              : "HttpError";
                fields["status"] = http->status();
                fields["error"] = http->error();
                fields["reason"] = http->reason();
            } else if (dynamic_cast<const ConfigError*>(&error) != nullptr) {
                kind = "ConfigError";
            } else if (dynamic_cast<const JsonError*>(&error) != nullptr) {
                kind = "DataError";
            } else if (dynamic_cast<const TransportError*>(&error) != nullptr) {
                kind = "UnavailableError";
            } else if (dynamic_cast<const StoreError*>(&error) != nullptr) {
                kind = "StoreError";
            }
            const py::object type = errors.attr(kind);
            const py::object instance = type(redact_credentials(error.what()));
            instance.attr("exit_status") = exit_status_for(error);
            for (const auto& [name, value] : fields) {
                py::setattr(instance, name, value);
            }
            PyErr_SetObject(type.ptr(), instance.ptr());
        }
    });
}

} // namespace edw::python

PYBIND11_MODULE(_core, module)
{
    module.doc() = "edw's C++ library; the API is the package edw.";
    module.attr("version") = edw::version();
    edw::python::bind_errors(module);
    edw::python::bind_log(module);
    edw::python::bind_steps(module);
    edw::python::bind_database(module);
    edw::python::bind_bench(module);
}
