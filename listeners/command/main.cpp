// listen_command: any step, written in any language, as a daemon: the step runs a command per doc,
// or keeps workers that take one doc after another.
#include <edw/app/listener_app.hpp>
#include <edw/step/command_step.hpp>
#include <edw/step/command_worker.hpp>

#include <CLI/CLI.hpp>

#include <memory>

namespace {

struct Commands {
    std::string exec;   ///< --exec: run once per doc.
    std::string worker; ///< --worker: kept running, a doc per line.
};

} // namespace

int main(int argc, char** argv)
{
    auto options = std::make_shared<edw::CommandStepOptions>();
    auto commands = std::make_shared<Commands>();
    auto after = std::make_shared<std::string>();
    auto timeout = std::make_shared<double>(3600);
    return edw::run_listener_app(
        argc, argv,
        {.program = "listen_command",
         .summary = "Runs a command as a step, on each doc that reaches it: with --exec once per "
                    "doc (the doc as JSON on stdin, the process entry as a JSON object on stdout, "
                    "non-zero exit = failure), or with --worker as long-running workers (a doc "
                    "per line on stdin, a JSON object per line on stdout)",
         .make_step =
             [options, commands, after, timeout] {
                 options->follows = after->empty() ? edw::StepPosition::new_document()
                                                   : edw::StepPosition::after(*after);
                 options->timeout = std::chrono::milliseconds(static_cast<long>(*timeout * 1000));
                 if (!commands->worker.empty()) {
                     options->command = commands->worker;
                     return edw::command_worker_step(*options);
                 }
                 options->command = commands->exec;
                 return edw::command_step(*options);
             },
         .add_options =
             [options, commands, after, timeout](CLI::App& app) {
                 app.add_option("--step", options->name, "The step's name, recorded in process")
                     ->required();
                 app.add_option("--after", *after,
                                "The step whose docs this one takes (default: new docs)");
                 // One of the two, checked below rather than with excludes(), which CLI11 prints
                 // into the option column of the help.
                 app.add_option("--exec", commands->exec,
                                "The command, run by /bin/sh -c once per doc: the doc as JSON on "
                                "stdin, the process entry as a JSON object on stdout; a non-zero "
                                "exit fails the doc, with the end of stderr (or --worker)")
                     ->type_name("COMMAND");
                 app.add_option(
                        "--worker", commands->worker,
                        "The command of a long-running worker, started by /bin/sh -c and kept: "
                        "one per doc in progress (--jobs), with EDW_STEP and EDW_WORKER=1 set. "
                        "Each doc is one line of JSON on its stdin; the answer is one line on its "
                        "stdout, a JSON object: the process entry, or {\"edw_error\": MESSAGE} to "
                        "fail that doc alone. A worker that exits before answering, answers with "
                        "anything else, or runs past --timeout fails its doc and is replaced. Its "
                        "stderr goes to the log, line by line (or --exec)")
                     ->type_name("COMMAND");
                 app.add_option("--timeout", *timeout,
                                "Seconds the command may take on one doc (--exec: one run; "
                                "--worker: one answer): then it is killed with everything it "
                                "started, and the attempt fails. This is the limit that applies "
                                "to a command; --step-timeout is the runner's outer limit for any "
                                "step, and should be longer")
                     ->check(CLI::Range(0.001, 604800.0))
                     ->capture_default_str();
                 app.callback([commands] {
                     if (commands->exec.empty() == commands->worker.empty()) {
                         throw CLI::ValidationError("listen_command needs --exec COMMAND or "
                                                    "--worker COMMAND, one of them");
                     }
                 });
             },
         .default_name = [options] { return "command-" + options->name; },
         .default_name_help = "command-<step>"});
}
