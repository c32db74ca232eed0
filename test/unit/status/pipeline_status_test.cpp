// PipelineStatus's rules, on an embedded store with the process design doc: which steps are the
// pipeline's and which are retired, which docs have passed every step, and the recent rate taken
// over the time that has passed.
#include <edw/design/design_doc.hpp>
#include <edw/status/pipeline_status.hpp>
#include <edw/store/embedded_store.hpp>
#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>

#ifndef EDW_SOURCE_DIR
#define EDW_SOURCE_DIR "."
#endif

TEST_SUITE_BEGIN("pipeline status");

namespace {

using namespace std::chrono_literals;

const auto now = *edw::parse_iso8601("2026-12-02T12:00:40.000Z");

// A fresh store in a file of this process's own, removed afterwards.
class Store {
public:
    Store()
        : m_path(std::filesystem::temp_directory_path() /
                 ("edw_pipeline_status_test_" + std::to_string(::getpid()) + "_" +
                  std::to_string(++m_count) + ".db"))
    {
        remove_files();
        m_database = edw::open_embedded_store(m_path, 10s, "pipeline-status-test");
        m_database->create();
    }
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;
    ~Store()
    {
        m_database.reset();
        remove_files();
    }
    edw::Database& operator*() { return *m_database; }
    edw::Database* operator->() { return m_database.get(); }

private:
    void remove_files()
    {
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::error_code ignored;
            std::filesystem::remove(m_path.string() + suffix, ignored);
        }
    }
    static inline int m_count = 0;
    std::filesystem::path m_path;
    std::unique_ptr<edw::Database> m_database;
};

// Pushes the process design doc declaring `pipeline` (or none when it is null), as edw design
// push would with that pipeline.json.
void push_pipeline(edw::Database& db, const nlohmann::json& pipeline)
{
    auto doc = edw::build_design_doc(std::string(EDW_SOURCE_DIR) + "/design-docs/process");
    doc.erase(edw::pipeline_field);
    if (!pipeline.is_null()) {
        doc[edw::pipeline_field] = pipeline;
    }
    if (const auto stored = db.get("_design/process")) {
        doc["_rev"] = (*stored)["_rev"];
    }
    REQUIRE(db.save(doc).status == edw::SaveStatus::ok);
}

// `count` docs whose process holds `steps`, each done at `time` (HH:MM:SS.mmm on the day of `now`).
void add_docs(edw::Database& db, const std::string& prefix, int count,
              const std::vector<std::string>& steps, const std::string& time = "11:00:00.000")
{
    std::vector<nlohmann::json> docs;
    for (int i = 0; i < count; ++i) {
        auto process = nlohmann::json::array();
        for (const auto& step : steps) {
            process.push_back({{"name", step}, {"date", "2026-12-02T" + time + "Z"}});
        }
        docs.push_back({{"_id", prefix + std::to_string(i)},
                        {"status", "good"},
                        {"conditions", {{"temperature", 0.016}}},
                        {"process", process}});
    }
    for (const auto& result : db.bulk_save(docs)) {
        REQUIRE(result.ok());
    }
}

const edw::StepStatus& step_named(const edw::PipelineStatus& status, const std::string& name)
{
    for (const auto& step : status.steps) {
        if (step.step.name == name) {
            return step;
        }
    }
    FAIL("no step " << name);
    throw std::logic_error("unreachable");
}

} // namespace

TEST_CASE("docs at the old last step wait for a step appended to the pipeline, not finished")
{
    Store db;
    push_pipeline(*db, {"move_to_sps", "signal_processing"});
    add_docs(*db, "old", 20, {"move_to_sps", "signal_processing"});
    auto status = edw::read_pipeline_status(*db, "process", now);
    CHECK(status.finished == 20);
    CHECK(status.finished_at == std::map<std::string, std::uint64_t>{{"signal_processing", 20}});

    push_pipeline(*db, {"move_to_sps", "signal_processing", "checksum"});
    status = edw::read_pipeline_status(*db, "process", now);
    CHECK(status.finished == 0);
    CHECK(status.finished_at.empty());
    CHECK(status.stranded.empty());
    const auto& checksum = step_named(status, "checksum");
    CHECK(checksum.declared);
    CHECK_FALSE(checksum.retired);
    CHECK(checksum.step.after == "signal_processing");
    CHECK(checksum.waiting == 20);

    add_docs(*db, "new", 3, {"move_to_sps", "signal_processing", "checksum"});
    status = edw::read_pipeline_status(*db, "process", now);
    CHECK(status.finished == 3);
    CHECK(step_named(status, "checksum").waiting == 20);
    CHECK(edw::to_json(status)["finished"] == 3);
}

TEST_CASE("a step seen in the docs but not in pipeline.json is retired and its docs stranded")
{
    Store db;
    push_pipeline(*db, {"move_to_sps", "signal_processing"});
    add_docs(*db, "done", 5, {"move_to_sps", "signal_processing"});
    // Tried once after signal_processing, then left out of the pipeline.
    add_docs(*db, "tried", 3, {"move_to_sps", "signal_processing", "archive"});
    auto status = edw::read_pipeline_status(*db, "process", now);
    REQUIRE(status.steps.size() == 3);
    const auto& archive = step_named(status, "archive");
    CHECK(archive.retired);
    CHECK_FALSE(archive.declared);
    CHECK(archive.step.after.is_null());
    CHECK(archive.waiting == 0);
    CHECK(archive.done == 3);
    CHECK_FALSE(step_named(status, "signal_processing").retired);
    CHECK(step_named(status, "signal_processing").waiting == 0);
    CHECK(status.finished == 5); // the docs after signal_processing, the pipeline's end
    CHECK(status.stranded == std::map<std::string, std::uint64_t>{{"archive", 3}});
    const auto json = edw::to_json(status);
    CHECK(json["steps"][2]["name"] == "archive");
    CHECK(json["steps"][2]["retired"] == true);
    CHECK(json["steps"][1]["retired"] == false);

    // A declared step may take the docs a retired one left behind: then they wait for it.
    push_pipeline(*db, nlohmann::json::parse(
                           R"(["move_to_sps", "signal_processing",
                               {"name": "publish", "after": "archive"}])"));
    status = edw::read_pipeline_status(*db, "process", now);
    CHECK(step_named(status, "archive").retired);
    CHECK(step_named(status, "publish").waiting == 3);
    CHECK(status.stranded.empty());
    CHECK(status.finished == 5);
    CHECK(status.finished_at.size() == 1);
}

TEST_CASE("a branch: two steps after one, and each end counts the docs finished there")
{
    Store db;
    push_pipeline(*db, nlohmann::json::parse(R"(["move_to_sps",
        {"name": "signal_processing", "after": "move_to_sps"},
        {"name": "preview", "after": "move_to_sps"}])"));
    add_docs(*db, "moved", 2, {"move_to_sps"});
    add_docs(*db, "signal", 3, {"move_to_sps", "signal_processing"});
    add_docs(*db, "preview", 4, {"move_to_sps", "preview"});
    const auto status = edw::read_pipeline_status(*db, "process", now);
    CHECK(status.finished == 7);
    CHECK(status.finished_at ==
          std::map<std::string, std::uint64_t>{{"preview", 4}, {"signal_processing", 3}});
    // The two take from one position: either takes each of the docs waiting there.
    CHECK(step_named(status, "signal_processing").waiting == 2);
    CHECK(step_named(status, "preview").waiting == 2);
    CHECK(step_named(status, "preview").step.after == "move_to_sps");
}

TEST_CASE("without a declared pipeline the steps seen in the docs make it, none retired")
{
    Store db;
    push_pipeline(*db, nullptr);
    add_docs(*db, "moved", 2, {"move_to_sps"});
    add_docs(*db, "done", 4, {"move_to_sps", "signal_processing"});
    const auto status = edw::read_pipeline_status(*db, "process", now);
    REQUIRE(status.steps.size() == 2);
    CHECK_FALSE(status.steps[0].retired);
    CHECK_FALSE(status.steps[1].retired);
    CHECK(step_named(status, "signal_processing").step.after == "move_to_sps");
    CHECK(step_named(status, "signal_processing").waiting == 2);
    CHECK(status.finished == 4);
}

TEST_CASE("the recent rate is over the time since the window's first doc, at least a few seconds")
{
    Store db;
    push_pipeline(*db, {"move_to_sps", "signal_processing", "checksum"});
    // 50 docs done in the last second: 10/s over the shortest span, not 10/min over 5 minutes.
    add_docs(*db, "burst", 50, {"move_to_sps"}, "12:00:39.500");
    // (Each step's docs below have that step alone, so that their times are its own.)
    // Started 3.5 minutes ago after an idle hour: over those 3.5 minutes.
    add_docs(*db, "start", 1, {"signal_processing"}, "11:57:10.000");
    add_docs(*db, "then", 6, {"signal_processing"}, "11:59:00.000");
    // Busy in the minute before the window: the whole window, from 11:56 to now.
    add_docs(*db, "before", 1, {"checksum"}, "11:55:30.000");
    add_docs(*db, "within", 2, {"checksum"}, "11:58:00.000");
    const auto status = edw::read_pipeline_status(*db, "process", now);

    const auto& checksum = step_named(status, "checksum");
    const auto burst = step_named(status, "move_to_sps").recent_rate(now);
    CHECK(burst.docs == 50);
    CHECK(burst.seconds == doctest::Approx(5));
    CHECK(burst.per_second() == doctest::Approx(10));
    CHECK(step_named(status, "move_to_sps").recent_since ==
          edw::parse_iso8601("2026-12-02T12:00:39.500Z"));
    // A minute later, with nothing done since, the same docs are over 60.5 s.
    CHECK(step_named(status, "move_to_sps").recent_rate(now + 60s).seconds ==
          doctest::Approx(60.5));

    const auto started = step_named(status, "signal_processing").recent_rate(now);
    CHECK(started.docs == 7);
    CHECK(started.seconds == doctest::Approx(210));

    const auto busy = checksum.recent_rate(now);
    CHECK(busy.docs == 2);
    CHECK(busy.seconds == doctest::Approx(280)); // 11:56:00 to 12:00:40

    const auto json = edw::to_json(status);
    CHECK(json["steps"][0]["rate"]["docs"] == 50);
    CHECK(json["steps"][0]["rate"]["per_second"].get<double>() == doctest::Approx(10));
    CHECK(json["steps"][0]["rate"]["since"] == "2026-12-02T12:00:39.500Z");
    CHECK(json["steps"][0]["done_last_5_min"] == 50);

    const edw::StepStatus idle;
    CHECK(idle.recent_rate(now).docs == 0);
    CHECK(idle.recent_rate(now).per_second() == 0);
}

TEST_CASE("a pipeline whose steps follow each other in a loop is refused")
{
    CHECK_THROWS_WITH_AS(edw::parse_pipeline(nlohmann::json::parse(
                             R"([{"name": "a", "after": "c"}, {"name": "b", "after": "a"}, "c"])")),
                         doctest::Contains("loop: a -> c -> b -> a"), edw::ConfigError);
    CHECK_THROWS_WITH_AS(
        edw::parse_pipeline(nlohmann::json::parse(R"([{"name": "a", "after": "a"}])")),
        doctest::Contains("loop: a -> a"), edw::ConfigError);
    // A step after a name the pipeline does not declare (a retired step's docs) is no loop.
    CHECK(edw::parse_pipeline(nlohmann::json::parse(R"(["a", {"name": "b", "after": "old"}])"))
              .size() == 2);
}

TEST_SUITE_END();
