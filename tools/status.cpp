// edw status: how many documents wait at each step, from the lastproc and status views.
#include "command.hpp"

#include <edw/open_database.hpp>

#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

namespace edw::tools {
namespace {

int print_status(const GlobalOptions& global, bool as_json)
{
    const Settings settings = load_tool_settings(global);
    const auto database = open_database(settings);
    // group_level=1 on [step, _id] keys: one row per step with the _count of its docs.
    ViewQuery by_step;
    by_step.group_level = 1;
    const auto steps = database->query(settings.design, settings.view, by_step);
    ViewQuery by_status;
    by_status.group = true;
    const auto statuses = database->query(settings.design, "status", by_status);

    nlohmann::json report = {{"database", database->describe()},
                             {"last_step", nlohmann::json::object()},
                             {"status", nlohmann::json::object()}};
    for (const auto& row : steps.rows) {
        const auto& step = row.key.at(0);
        report["last_step"][step.is_string() ? step.get<std::string>() : "(new)"] = row.value;
    }
    for (const auto& row : statuses.rows) {
        report["status"][row.key.is_string() ? row.key.get<std::string>() : row.key.dump()] =
            row.value;
    }
    if (as_json) {
        std::cout << report.dump() << "\n";
        return 0;
    }
    std::cout << report["database"].get<std::string>() << "\n\n";
    std::cout << std::left << std::setw(28) << "last step"
              << "docs\n";
    for (const auto& [step, count] : report["last_step"].items()) {
        std::cout << std::left << std::setw(28) << step << count.dump() << "\n";
    }
    std::cout << "\n"
              << std::left << std::setw(28) << "status"
              << "docs\n";
    for (const auto& [status, count] : report["status"].items()) {
        std::cout << std::left << std::setw(28) << status << count.dump() << "\n";
    }
    return 0;
}

} // namespace

void add_status_command(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto* status = app.add_subcommand("status", "Count documents by last step and by status");
    status->fallthrough();
    auto as_json = std::make_shared<bool>(false);
    status->add_flag("--json", *as_json, "Print one JSON object");
    status->callback([&action, &global, as_json] {
        action = [&global, as_json] { return print_status(global, *as_json); };
    });
}

} // namespace edw::tools
