// listen_newfiles: the EDELWEISS move_to_sps step as a daemon.
#include <edw/app/listener_app.hpp>
#include <edw/util/log.hpp>
#include <edw/workflow/edelweiss_steps.hpp>

#include <CLI/CLI.hpp>

#include <memory>

int main(int argc, char** argv)
{
    // Known once edw.ini is read, which is after the options are parsed.
    auto site = std::make_shared<edw::edelweiss::SiteOptions>();
    return edw::run_listener_app(
        argc, argv,
        {.program = "listen_newfiles",
         .summary = "Copies each new EDELWEISS raw file into the data directory and checks its "
                    "md5 (step move_to_sps), or only simulates that when edw.ini has no "
                    "[edelweiss] data_directory",
         .make_step = [site] { return edw::edelweiss::move_to_sps(*site); },
         .add_options = [](CLI::App& app) { app.footer(edw::edelweiss::file_work_help()); },
         .use_settings =
             [site](const edw::Settings& settings) {
                 *site = edw::edelweiss::site_options(settings);
                 edw::log_info(edw::edelweiss::describe_file_work(*site, settings.source));
             }});
}
