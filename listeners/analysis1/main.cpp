// listen_analysis1: the EDELWEISS signal_processing step as a daemon.
#include <edw/app/listener_app.hpp>
#include <edw/workflow/edelweiss_steps.hpp>

int main(int argc, char** argv)
{
    return edw::run_listener_app(
        argc, argv,
        {.program = "listen_analysis1",
         .summary = "Runs signal processing on each moved EDELWEISS file (step signal_processing)",
         .make_step = [] { return edw::edelweiss::signal_processing(); },
         .add_options = {}});
}
