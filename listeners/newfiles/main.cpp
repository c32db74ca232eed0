// listen_newfiles: the EDELWEISS move_to_sps step as a daemon.
#include <edw/app/listener_app.hpp>
#include <edw/workflow/edelweiss_steps.hpp>

int main(int argc, char** argv)
{
    return edw::run_listener_app(
        argc, argv,
        {.program = "listen_newfiles",
         .summary =
             "Moves each new EDELWEISS data file to the processing centre (step move_to_sps)",
         .make_step = [] { return edw::edelweiss::move_to_sps(); },
         .add_options = {}});
}
