// Two sites: the ARC server pulls the JAO's archive databases, and msgq goes both ways, through
// the ARC server's _replicator database (CouchDB's persistent, restarted-after-crash replications).
#include "draws.hpp"

#include <edw/util/error.hpp>

namespace draws {
namespace {

std::string base64(const std::string& text)
{
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned value = 0;
    int bits = -6;
    for (const unsigned char c : text) {
        value = (value << 8) + c;
        bits += 8;
        while (bits >= 0) {
            out.push_back(digits[(value >> bits) & 0x3F]);
            bits -= 6;
        }
    }
    if (bits > -6) {
        out.push_back(digits[((value << 8) >> (bits + 8)) & 0x3F]);
    }
    while (out.size() % 4 != 0) {
        out.push_back('=');
    }
    return out;
}

// A replication endpoint: the URL without credentials, which go in a header (CouchDB 3 keeps
// them out of _scheduler/docs and logs that way).
nlohmann::json endpoint(const edw::Settings& settings, const std::string& database)
{
    std::string url = settings.server.str();
    while (!url.empty() && url.back() == '/') {
        url.pop_back();
    }
    nlohmann::json end = {{"url", url + "/" + database}};
    if (!settings.username.empty()) {
        end["headers"] = {
            {"Authorization", "Basic " + base64(settings.username + ":" + settings.password)}};
    }
    return end;
}

} // namespace

std::vector<std::string> set_up_replication(const edw::Settings& jao, const edw::Settings& arc)
{
    if (jao.server.is_file() || arc.server.is_file()) {
        throw edw::ConfigError("two sites need two servers: the embedded store does not replicate");
    }
    struct Replication {
        std::string id;
        nlohmann::json source;
        nlohmann::json target;
    };
    std::vector<Replication> replications;
    for (const auto& name : replicated_from_jao()) {
        replications.push_back(
            {"draws-" + name + "-jao-to-arc", endpoint(jao, name), endpoint(arc, name)});
    }
    replications.push_back({"draws-msgq-jao-to-arc", endpoint(jao, "msgq"), endpoint(arc, "msgq")});
    replications.push_back({"draws-msgq-arc-to-jao", endpoint(arc, "msgq"), endpoint(jao, "msgq")});

    auto replicator = open_named(arc, "_replicator");
    replicator->create();
    std::vector<std::string> ids;
    for (const auto& replication : replications) {
        // Continuous, and kept by the server across its restarts; set up once.
        create_once(*replicator, {{"_id", replication.id},
                                  {"source", replication.source},
                                  {"target", replication.target},
                                  {"create_target", true},
                                  {"continuous", true}});
        ids.push_back(replication.id);
    }
    return ids;
}

} // namespace draws
