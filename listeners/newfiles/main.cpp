// listen_newfiles: the EDELWEISS move_to_sps step as a daemon.
#include <edw/edelweiss_steps.hpp>
#include <edw/listener_app.hpp>

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
