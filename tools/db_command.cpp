// edw db: create, inspect and delete the database named in the settings.
#include "command.hpp"

#include <edw/app/open_database.hpp>

#include <iostream>
#include <memory>

namespace edw::tools {

void add_db_commands(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto* db = app.add_subcommand("db", "Create, inspect or delete the database");
    db->require_subcommand(1);
    db->fallthrough();

    auto* create = db->add_subcommand("create", "Create the database (no error if it exists)");
    create->fallthrough();
    create->callback([&] {
        action = [&] {
            const auto database = open_database(load_tool_settings(global));
            const bool created = database->create();
            std::cout << (created ? "created " : "exists: ") << database->describe() << "\n";
            return 0;
        };
    });

    auto* info = db->add_subcommand("info", "Print the database's info document as JSON");
    info->fallthrough();
    info->callback([&] {
        action = [&] {
            const auto database = open_database(load_tool_settings(global));
            std::cout << database->info().dump(2) << "\n";
            return 0;
        };
    });

    auto* destroy = db->add_subcommand("delete", "Delete the database and all its documents");
    destroy->fallthrough();
    auto confirmed = std::make_shared<bool>(false);
    destroy->add_flag("--yes", *confirmed, "Confirm: this cannot be undone")->required();
    destroy->callback([&] {
        action = [&] {
            const auto database = open_database(load_tool_settings(global));
            database->destroy();
            std::cout << "deleted " << database->describe() << "\n";
            return 0;
        };
    });
}

} // namespace edw::tools
