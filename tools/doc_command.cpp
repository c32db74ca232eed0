// edw doc: read and write documents, whichever backend holds them; the embedded store has no web
// UI.
#include "command.hpp"

#include <edw/app/open_database.hpp>
#include <edw/util/error.hpp>
#include <edw/util/json_parse_reason.hpp>

#include <fstream>
#include <iostream>
#include <memory>

namespace edw::tools {

void add_doc_commands(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto* doc = app.add_subcommand("doc", "Read and write documents");
    doc->require_subcommand(1);
    doc->fallthrough();

    auto* get = doc->add_subcommand("get", "Print a document as JSON (exit 1 when it is missing)");
    get->fallthrough();
    auto id = std::make_shared<std::string>();
    get->add_option("id", *id, "Document id, _design/ and _local/ ones included")->required();
    get->callback([&action, &global, id] {
        action = [&global, id] {
            const auto database = open_database(load_tool_settings(global));
            const auto found = database->get(*id);
            if (!found) {
                std::cerr << "edw: no document " << *id << " in " << database->describe() << "\n";
                return 1;
            }
            std::cout << found->dump(2) << "\n";
            return 0;
        };
    });

    auto* put = doc->add_subcommand(
        "put", "Write a document given as JSON (a file, or - for standard input); it needs an "
               "_id, and the _rev it replaces unless it is new");
    put->fallthrough();
    auto source = std::make_shared<std::string>("-");
    put->add_option("file", *source, "JSON file, or - for standard input")->capture_default_str();
    put->callback([&action, &global, source] {
        action = [&global, source] {
            std::ifstream file;
            if (*source != "-") {
                file.open(*source);
                if (!file) {
                    throw ConfigError("cannot read " + *source);
                }
            }
            std::istream& in = *source == "-" ? std::cin : file;
            nlohmann::json given;
            try {
                given = nlohmann::json::parse(in);
            } catch (const nlohmann::json::parse_error& error) {
                throw JsonError("cannot put " + *source +
                                ": not valid JSON: " + json_parse_reason(error));
            }
            if (!given.is_object() || !given.contains("_id") || !given["_id"].is_string()) {
                throw JsonError("cannot put " + *source + ": not a JSON object with a string _id");
            }
            const auto database = open_database(load_tool_settings(global));
            const auto saved = database->save(given);
            if (saved.is_conflict()) {
                std::cerr << "edw: conflict: doc " << saved.id
                          << " changed since this copy was read (or exists: give its _rev)\n";
                return 1;
            }
            std::cout << "saved " << saved.id << " (rev " << saved.rev << ")\n";
            return 0;
        };
    });

    auto* all = doc->add_subcommand(
        "all", "Print every document as _all_docs?include_docs=true would, one JSON object");
    all->fallthrough();
    auto start = std::make_shared<std::string>();
    all->add_option("--start", *start, "Only ids from this one on, in id order");
    all->callback([&action, &global, start] {
        action = [&global, start] {
            const auto database = open_database(load_tool_settings(global));
            ViewQuery query;
            query.include_docs = true;
            if (!start->empty()) {
                query.startkey = *start;
            }
            const auto result = database->all_docs(query);
            nlohmann::json rows = nlohmann::json::array();
            for (const auto& row : result.rows) {
                rows.push_back({{"id", row.id}, {"doc", row.doc.value_or(nullptr)}});
            }
            std::cout << nlohmann::json{{"total_rows", result.total_rows.value_or(0)},
                                        {"rows", std::move(rows)}}
                             .dump()
                      << "\n";
            return 0;
        };
    });
}

} // namespace edw::tools
