// listen_command: any step, written in any language, as a daemon: the step runs a command per doc.
#include <edw/app/listener_app.hpp>
#include <edw/step/command_step.hpp>

#include <CLI/CLI.hpp>

#include <memory>

int main(int argc, char** argv)
{
    auto options = std::make_shared<edw::CommandStepOptions>();
    auto after = std::make_shared<std::string>();
    auto timeout = std::make_shared<double>(3600);
    return edw::run_listener_app(
        argc, argv,
        {.program = "listen_command",
         .summary = "Runs a command on each doc that reaches a step: the doc as JSON on stdin, "
                    "the process entry as a JSON object on stdout, non-zero exit = failure",
         .make_step =
             [options, after, timeout] {
                 options->follows = after->empty() ? edw::StepPosition::new_document()
                                                   : edw::StepPosition::after(*after);
                 options->timeout = std::chrono::milliseconds(static_cast<long>(*timeout * 1000));
                 return edw::command_step(*options);
             },
         .add_options =
             [options, after, timeout](CLI::App& app) {
                 app.add_option("--step", options->name, "The step's name, recorded in process")
                     ->required();
                 app.add_option("--after", *after,
                                "The step whose docs this one takes (default: new docs)");
                 app.add_option("--exec", options->command,
                                "The command, run by /bin/sh -c once per doc")
                     ->required();
                 app.add_option("--timeout", *timeout,
                                "Seconds one run of the command may take: then it is killed with "
                                "everything it started, and the attempt fails. This is the limit "
                                "that applies to a command; --step-timeout is the runner's outer "
                                "limit for any step, and should be longer")
                     ->check(CLI::Range(0.001, 604800.0))
                     ->capture_default_str();
             }});
}
