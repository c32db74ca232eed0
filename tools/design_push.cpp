// edw design push: upload a design doc from a folder or JSON file, only when it changed.
#include "command.hpp"
#include "shipped_files.hpp"

#include <edw/app/open_database.hpp>
#include <edw/design/design_doc.hpp>
#include <edw/util/error.hpp>

#include <nlohmann/json.hpp>

#include <iostream>

namespace edw::tools {
namespace {

// Where the revision of the last push is kept, in the database itself, so that every machine
// pushing to it sees the same record.
std::string push_record_id(const std::string& design_id)
{
    return "_local/edw-design-push-" + design_id.substr(8);
}

// Saving an unchanged design doc would make the server rebuild every view in it, so compare
// first and write only on a difference. A server copy that someone changed since the last push
// (another tool, a hand edit in Fauxton) is not overwritten without --force.
int push_design(const GlobalOptions& global, const std::string& path, bool force)
{
    // No path: the EDELWEISS design doc that ships with edw (see find_shipped_design_doc).
    const std::string source = path.empty() ? find_shipped_design_doc("process").string() : path;
    nlohmann::json design = load_design_doc(source);
    const auto database = open_database(load_tool_settings(global));
    const std::string id = design["_id"].get<std::string>();
    for (int attempt = 0; attempt < 3; ++attempt) {
        const auto current = database->get(id);
        if (current && same_design_content(*current, design)) {
            std::cout << "unchanged " << id << " (rev " << current->value("_rev", "") << ") in "
                      << database->describe() << "\n";
            return 0;
        }
        auto record = database->get(push_record_id(id));
        if (current && !force) {
            const std::string pushed = record ? record->value("pushed_rev", "") : "";
            const std::string now = current->value("_rev", "");
            if (pushed != now) {
                std::cerr << "edw: " << id << " in " << database->describe()
                          << " was changed since the last edw design push (server rev " << now
                          << ", "
                          << (pushed.empty() ? std::string("never pushed by edw")
                                             : "last pushed rev " + pushed)
                          << "); compare it with " << source
                          << ", then push with --force to overwrite it\n";
                return 1;
            }
        }
        if (current) {
            design["_rev"] = (*current)["_rev"];
        } else {
            design.erase("_rev");
        }
        const auto saved = database->save(design);
        if (saved.is_conflict()) {
            continue; // someone pushed at the same moment: compare with theirs first
        }
        nlohmann::json note = {
            {"_id", push_record_id(id)}, {"pushed_rev", saved.rev}, {"source", source}};
        if (record) {
            note["_rev"] = (*record)["_rev"];
        }
        if (database->save(note).is_conflict()) {
            std::cerr << "edw: warning: another push recorded itself at the same moment\n";
        }
        std::cout << (current ? "updated " : "created ") << id << " (rev " << saved.rev << ") in "
                  << database->describe() << (path.empty() ? " from " + source : "") << "\n";
        return 0;
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
    auto path = std::make_shared<std::string>();
    push->add_option("path", *path,
                     "Design doc folder or JSON file (default: the EDELWEISS design doc, "
                     "./design-docs/process or the one installed with edw)");
    auto force = std::make_shared<bool>(false);
    push->add_flag("--force", *force,
                   "Overwrite the server copy even when it changed since the last edw push");
    push->callback([&action, &global, path, force] {
        action = [&global, path, force] { return push_design(global, *path, *force); };
    });
}

} // namespace edw::tools
