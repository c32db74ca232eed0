// listen_pipeline: the EDELWEISS steps in one process, on one changes feed.
#include <edw/app/listener_app.hpp>
#include <edw/util/log.hpp>
#include <edw/workflow/edelweiss_steps.hpp>

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    std::vector<std::string> names = {"move_to_sps", "signal_processing"};
    // Known once edw.ini is read, which is after the options are parsed.
    auto site = std::make_shared<edw::edelweiss::SiteOptions>();
    return edw::run_listener_app(
        argc, argv,
        {.program = "listen_pipeline",
         .summary = "Runs the EDELWEISS steps (move_to_sps, then signal_processing) in one "
                    "process that follows the changes feed once for all of them; they copy and "
                    "analyse real files when edw.ini has an [edelweiss] data_directory, and only "
                    "simulate that otherwise",
         .make_step = {},
         .make_steps =
             [&names, site] {
                 std::vector<edw::Step> steps;
                 for (const auto& name : names) {
                     steps.push_back(name == "move_to_sps"
                                         ? edw::edelweiss::move_to_sps(*site)
                                         : edw::edelweiss::signal_processing(*site));
                 }
                 return steps;
             },
         .add_options =
             [&names](CLI::App& app) {
                 app.add_option("--steps", names,
                                "The steps to run, comma-separated (the others can run in "
                                "listen_newfiles and listen_analysis1)")
                     ->delimiter(',')
                     ->check(CLI::IsMember({"move_to_sps", "signal_processing"}))
                     ->capture_default_str();
                 app.footer(edw::edelweiss::file_work_help());
             },
         .use_settings =
             [site](const edw::Settings& settings) {
                 *site = edw::edelweiss::site_options(settings);
                 edw::log_info(edw::edelweiss::describe_file_work(*site, settings.source));
             }});
}
