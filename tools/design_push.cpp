// edw design push: upload a design doc from a folder or JSON file, only when it changed.
#include "command.hpp"

#include <edw/design_doc.hpp>
#include <edw/error.hpp>
#include <edw/open_database.hpp>

#include <nlohmann/json.hpp>

#include <iostream>

namespace edw::tools {
namespace {

// Saving an unchanged design doc would make the server rebuild every view in it, so compare
// first and write only on a difference.
int push_design(const GlobalOptions& global, const std::string& path)
{
    nlohmann::json design = load_design_doc(path);
    const auto database = open_database(load_tool_settings(global));
    const std::string id = design["_id"].get<std::string>();
    for (int attempt = 0; attempt < 3; ++attempt) {
        const auto current = database->get(id);
        if (current && same_design_content(*current, design)) {
            std::cout << "unchanged " << id << " (rev " << current->value("_rev", "") << ") in "
                      << database->describe() << "\n";
            return 0;
        }
        if (current) {
            design["_rev"] = (*current)["_rev"];
        } else {
            design.erase("_rev");
        }
        const auto saved = database->save(design);
        if (!saved.is_conflict()) {
            std::cout << (current ? "updated " : "created ") << id << " (rev " << saved.rev
                      << ") in " << database->describe() << "\n";
            return 0;
        }
        // Someone pushed at the same moment: compare with theirs before writing again.
    }
    throw HttpError("cannot push " + id + " to " + database->describe() +
                        ": it keeps changing on the server (HTTP 409 conflict)",
                    409, "conflict", "Document update conflict.");
}

} // namespace

void add_design_commands(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto* design = app.add_subcommand("design", "Manage design documents");
    design->require_subcommand(1);
    design->fallthrough();

    auto* push = design->add_subcommand(
        "push", "Upload a design doc (a folder of .js files, or a .json file) if it changed");
    push->fallthrough();
    auto path = std::make_shared<std::string>("design-docs/process");
    push->add_option("path", *path, "Design doc folder or JSON file")->capture_default_str();
    push->callback([&action, &global, path] {
        action = [&global, path] { return push_design(global, *path); };
    });
}

} // namespace edw::tools
