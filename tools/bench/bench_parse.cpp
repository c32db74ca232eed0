// edw bench parse: lines/s and MB/s of the changes feed parser over a generated feed.
#include "bench.hpp"

#include <edw/couch/feed_parser.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

namespace edw::tools {
namespace {

// A continuous feed as CouchDB 3 sends it with include_docs: opaque string seqs, EDELWEISS-shaped
// docs at various steps, and a heartbeat now and then.
std::string synthetic_feed(std::uint64_t lines)
{
    std::string feed;
    feed.reserve(lines * 560);
    char line[1024];
    for (std::uint64_t i = 0; i < lines; ++i) {
        const int steps = static_cast<int>(i % 3);
        const char* process =
            steps == 0 ? "[]"
            : steps == 1
                ? R"([{"name":"move_to_sps","hostname":"ccage","file":"/sps/edelweiss/data/f.root","md5sum":"e96241bf89c8f2902d043c77f98c79af","log":"copied","date":"2026-11-30T01:09:50.500Z"}])"
                : R"([{"name":"move_to_sps","hostname":"ccage","file":"/sps/edelweiss/data/f.root","md5sum":"e96241bf89c8f2902d043c77f98c79af","log":"copied","date":"2026-11-30T01:09:50.500Z"},{"name":"signal_processing","hostname":"ccage","file":"/sps/f.amp.root","md5sum":"ad6c0f5a884ff06c473ae0fab37a5e33","log":"amplitudes","date":"2026-11-30T01:09:50.508Z"}])";
        const int length = std::snprintf(
            line, sizeof line,
            R"({"seq":"%llu-g1AAAACLeJzLYWBgYMpgTmHgz8tPSTV0MDQy1zMAQsMcoEQiQ1L9____szKYEmNygQLsKYmWqWlmJijqcRqRxwIkGRqA1H-oSWxgk9JSLFJMzXBrzwIAHPwg0A","id":"ma22a%03llu_%03llu","changes":[{"rev":"%d-2d1f7d1b0a4c4f1ea5ab9d1d4b5e6f70"}],"doc":{"_id":"ma22a%03llu_%03llu","_rev":"%d-2d1f7d1b0a4c4f1ea5ab9d1d4b5e6f70","run":"ma22a%03llu","status":"good","datecreated":1796000990.4817507,"original_file":"/mnt/data/f.root","md5sum":"e96241bf89c8f2902d043c77f98c79af","conditions":{"temperature":0.0157,"volts":{"detector_a":[8,-8,2,-2]}},"process":%s}})"
            "\n",
            static_cast<unsigned long long>(i + 1), static_cast<unsigned long long>(i / 1000),
            static_cast<unsigned long long>(i % 1000), steps + 1,
            static_cast<unsigned long long>(i / 1000), static_cast<unsigned long long>(i % 1000),
            steps + 1, static_cast<unsigned long long>(i / 1000), process);
        feed.append(line, static_cast<std::size_t>(length));
        if (i % 1000 == 999) {
            feed.push_back('\n'); // a heartbeat
        }
    }
    return feed;
}

struct Counter final : ContinuousFeedParser::Handler {
    std::uint64_t rows = 0;
    std::uint64_t with_doc = 0;
    void on_change(Change&& change) override
    {
        ++rows;
        with_doc += change.doc ? 1 : 0;
    }
    void on_end(FeedEnd&&) override {}
};

} // namespace

int bench_parse(std::uint64_t lines, std::size_t chunk)
{
    const std::string feed = synthetic_feed(lines);
    ContinuousFeedParser parser;
    Counter counter;
    const auto started = std::chrono::steady_clock::now();
    // In network-sized pieces, cut wherever they fall, as a socket delivers them.
    for (std::size_t at = 0; at < feed.size(); at += chunk) {
        parser.feed(std::string_view(feed).substr(at, chunk), counter);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (counter.rows != lines || counter.with_doc != lines) {
        std::cerr << "edw: bench parse: read " << counter.rows << " rows (" << counter.with_doc
                  << " with docs) of " << lines << "\n";
        return 1;
    }
    std::cout << nlohmann::json{{"benchmark", "feed_parse"},
                                {"lines", lines},
                                {"bytes", feed.size()},
                                {"chunk_bytes", chunk},
                                {"seconds", seconds},
                                {"lines_per_s", static_cast<double>(lines) / seconds},
                                {"mb_per_s", static_cast<double>(feed.size()) / 1e6 / seconds}}
                     .dump()
              << "\n";
    return 0;
}

} // namespace edw::tools
