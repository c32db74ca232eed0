// Python steps on the C++ runtime: each Python callback becomes an edw::Step whose run() takes
// the GIL only while Python runs; the listener program around them is run_listener_app's.
#include "python_steps.hpp"

#include "python_bindings.hpp"
#include "python_json.hpp"
#include "python_ref.hpp"

#include <edw/app/listener_app.hpp>
#include <edw/step/command_step.hpp>
#include <edw/step/state_machine.hpp>
#include <edw/step/step.hpp>

#include <pybind11/stl.h>

#include <chrono>
#include <string>
#include <vector>

namespace py = pybind11;

namespace edw::python {
namespace {

// A Python value of `spec` (an edw.Step), or nothing for None.
std::optional<py::object> attribute(py::handle spec, const char* name)
{
    py::object value = spec.attr(name);
    if (value.is_none()) {
        return std::nullopt;
    }
    return value;
}

// Keeps one Python thread state per runner thread from one callback to the next. Without it,
// each callback's GIL acquisition would make a new thread state and drop it afterwards: slower,
// and a threading.local in the step would forget its values between docs.
class PythonThread {
public:
    PythonThread()
    {
        PyGILState_Ensure();           // makes this thread's state (and takes the GIL) ...
        m_state = PyEval_SaveThread(); // ... which is kept while the GIL is given back
    }
    ~PythonThread()
    {
        // A thread that ends after the interpreter (none of the runner's do) leaves it be.
#if PY_VERSION_HEX >= 0x030D0000
        const bool finalizing = Py_IsFinalizing() != 0;
#else
        const bool finalizing = _Py_IsFinalizing() != 0;
#endif
        if (Py_IsInitialized() == 0 || finalizing) {
            return;
        }
        PyEval_RestoreThread(m_state);
        PyGILState_Release(PyGILState_UNLOCKED); // drops the state made above, and the GIL
    }
    PythonThread(const PythonThread&) = delete;
    PythonThread& operator=(const PythonThread&) = delete;

private:
    PyThreadState* m_state = nullptr;
};

std::string text_of(const py::handle& value)
{
    return py::str(value).cast<std::string>();
}

// The callback: `invoke(doc)` (edw/_runtime.py) returns (True, result) or (False, message,
// traceback), so that the traceback is formatted in Python, where it is easy.
std::function<nlohmann::json(const nlohmann::json&)> python_callback(const std::string& name,
                                                                     PythonRef invoke)
{
    return [name, invoke = std::move(invoke)](const nlohmann::json& doc) -> nlohmann::json {
        const std::string where = "step " + name + " on doc " + doc.value("_id", "?") + ": ";
        thread_local const PythonThread thread;
        const py::gil_scoped_acquire gil;
        try {
            const py::tuple answer = (*invoke)(to_python(doc));
            if (answer[0].cast<bool>()) {
                const py::object result = answer[1];
                if (result.is_none()) {
                    return nlohmann::json::object(); // a step that only does something
                }
                if (!PyDict_Check(result.ptr())) {
                    throw StepFailure(where + "the callback returned a " +
                                          text_of(py::type::handle_of(result).attr("__name__")) +
                                          ", not a dict",
                                      "");
                }
                return to_json(result, "the result");
            }
            throw StepFailure(where + answer[1].cast<std::string>(), answer[2].cast<std::string>());
        } catch (const py::error_already_set& error) {
            throw StepFailure(where + error.what(), "");
        } catch (const py::builtin_exception& error) {
            throw StepFailure(where + error.what(), "");
        }
    };
}

PeriodicTask python_task(py::handle task)
{
    const std::string name = task.attr("name").cast<std::string>();
    const double seconds = task.attr("every").cast<double>();
    return PeriodicTask{.name = name,
                        .every = std::chrono::milliseconds(static_cast<long>(seconds * 1000)),
                        .run = [name, function = hold(task.attr("invoke"))] {
                            const py::gil_scoped_acquire gil;
                            try {
                                (*function)();
                            } catch (const py::error_already_set& error) {
                                // Logged by the runtime, which runs the task again at its next
                                // time.
                                throw Error("periodic task " + name + ": " + error.what());
                            }
                        }};
}

// edw.run's core: the listener program with Python steps. `argv[0]` names the program.
int run_listener(const std::vector<std::string>& argv, const std::string& summary,
                 const py::list& specs)
{
    std::vector<Step> steps;
    for (const auto& spec : specs) {
        steps.push_back(python_step(spec));
    }
    std::vector<std::string> arguments = argv;
    std::vector<char*> pointers;
    for (auto& argument : arguments) {
        pointers.push_back(argument.data());
    }
    pointers.push_back(nullptr);
    const std::string program = arguments.empty() ? "edw-python" : arguments.front();
    const ListenerSpec spec{
        .program = program,
        .summary = summary,
        .make_step = {},
        .make_steps = [&steps] { return steps; },
        .add_options = {},
        .default_name = {},
        // Parsing and --daemon's fork happen with the GIL held (one thread); the steps run
        // with it released, each callback taking it for as long as Python runs.
        .around_run =
            [](const std::function<void()>& run) {
                const py::gil_scoped_release release;
                run();
            },
    };
    return run_listener_app(static_cast<int>(arguments.size()), pointers.data(), spec);
}

} // namespace

Step python_step(py::handle spec)
{
    Step step;
    step.name = spec.attr("name").cast<std::string>();
    if (const auto version = attribute(spec, "version")) {
        step.version = version->cast<std::string>();
    }
    if (const auto after = attribute(spec, "after")) {
        step.follows = StepPosition::after(after->cast<std::string>());
    }
    if (const auto selector = attribute(spec, "selector")) {
        step.selection =
            StepSelection::matching(to_json(*selector, "the selector of step " + step.name));
    }
    const std::string by = attribute(spec, "by") ? spec.attr("by").cast<std::string>() : step.name;
    if (const auto states = attribute(spec, "states")) {
        step.record = record_state_move(
            StateMachine::parse(to_json(*states, "the states of step " + step.name)), by);
    } else if (const auto history = attribute(spec, "history")) {
        step.record = record_field_update(step.name, history->cast<std::string>(), by);
    }
    step.run = python_callback(step.name, hold(spec.attr("invoke")));
    for (const auto& task : spec.attr("periodic")) {
        step.periodic.push_back(python_task(task));
    }
    return step;
}

void bind_steps(py::module_& module)
{
    module.def("run_listener", &run_listener, py::arg("argv"), py::arg("summary"), py::arg("steps"),
               "Runs the steps as a listener program with the C++ listeners' options; returns "
               "the exit status.");
}

} // namespace edw::python
