// StateMachine: definitions read and checked, moves allowed or refused, history recorded.
#include <edw/step/state_machine.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("state machine");

namespace {

const auto ous_states = nlohmann::json::parse(R"({
    "initial": ["ReadyForProcessing"],
    "states": {
        "ReadyForProcessing": ["Processing"],
        "Processing": ["ReadyForReview", "ProcessingProblem"],
        "ProcessingProblem": ["ReadyForProcessing"],
        "ReadyForReview": ["Reviewing"],
        "Reviewing": ["Verified", "ReadyForProcessing"],
        "Verified": ["DeliveryInProgress"],
        "DeliveryInProgress": ["Delivered"],
        "Delivered": []
    }})");

const auto machine = edw::StateMachine::parse(ous_states);

} // namespace

TEST_CASE("a definition gives the allowed moves, a new doc only its initial states")
{
    CHECK(machine.field() == "state");
    CHECK(machine.history_field() == "state_history");
    CHECK(machine.allows("ReadyForProcessing", "Processing"));
    CHECK(machine.allows("Reviewing", "ReadyForProcessing"));
    CHECK_FALSE(machine.allows("ReadyForProcessing", "Delivered"));
    CHECK_FALSE(machine.allows("Delivered", "ReadyForProcessing"));
    CHECK_FALSE(machine.allows("NoSuchState", "Processing"));
    CHECK(machine.allows(std::nullopt, "ReadyForProcessing"));
    CHECK_FALSE(machine.allows(std::nullopt, "Processing"));
}

TEST_CASE("a move sets the state, merges the changes and appends to the history")
{
    const nlohmann::json doc = {{"_id", "uid://A003/X1/X1a"},
                                {"_rev", "3-abc"},
                                {"state", "ReadyForProcessing"},
                                {"recipe", "hifa_calimage"}};
    const auto moved = machine.apply(doc, "Processing", {{"executive", "EU"}}, "driver-EU",
                                     "2026-12-02T10:00:00.000Z", std::string("ReadyForProcessing"));
    CHECK(moved["state"] == "Processing");
    CHECK(moved["executive"] == "EU");
    CHECK(moved["recipe"] == "hifa_calimage");
    CHECK(moved["_rev"] == "3-abc");
    REQUIRE(moved["state_history"].size() == 1);
    CHECK(moved["state_history"][0] == nlohmann::json({{"from", "ReadyForProcessing"},
                                                       {"to", "Processing"},
                                                       {"date", "2026-12-02T10:00:00.000Z"},
                                                       {"by", "driver-EU"}}));
    const auto again = machine.apply(moved, "ProcessingProblem", nullptr, "driver-EU",
                                     "2026-12-02T10:05:00.000Z", std::nullopt, "exit status 1");
    CHECK(again["state_history"].size() == 2);
    CHECK(again["state_history"][1]["note"] == "exit status 1");
    CHECK(machine.times_moved(again, "ReadyForProcessing", "Processing") == 1);
    CHECK(machine.times_moved(again, "Processing", "ReadyForReview") == 0);
}

TEST_CASE("a move the workflow does not allow is refused, naming the doc and what is allowed")
{
    const nlohmann::json doc = {{"_id", "ous1"}, {"state", "Processing"}};
    CHECK_THROWS_WITH_AS(machine.apply(doc, "Delivered", nullptr, "x", "t"),
                         "doc ous1: Processing -> Delivered is not allowed by the workflow "
                         "(allowed: ProcessingProblem, ReadyForReview)",
                         edw::TransitionRefused);
    CHECK_THROWS_WITH_AS(
        machine.apply(doc, "ReadyForReview", nullptr, "x", "t", std::string("ReadyForProcessing")),
        doctest::Contains("refused: the doc is no longer in ReadyForProcessing"),
        edw::TransitionRefused);
    CHECK_THROWS_WITH_AS(machine.apply(doc, "ReadyForReview", {{"state", "Verified"}}, "x", "t"),
                         doctest::Contains("the changes may not set state"),
                         edw::TransitionRefused);
    CHECK_THROWS_WITH_AS(machine.apply({{"_id", "new"}}, "Processing", nullptr, "x", "t"),
                         doctest::Contains("(no state) -> Processing is not allowed by the "
                                           "workflow (allowed: ReadyForProcessing)"),
                         edw::TransitionRefused);
    const auto created =
        machine.apply({{"_id", "new"}}, "ReadyForProcessing", nullptr, "launcher", "t");
    CHECK(created["state_history"][0]["from"] == nullptr);
}

TEST_CASE("a definition with a mistake is refused with what is wrong")
{
    const auto refused = [](const char* text) {
        try {
            edw::StateMachine::parse(nlohmann::json::parse(text));
        } catch (const edw::ConfigError& error) {
            return std::string(error.what());
        }
        return std::string("accepted");
    };
    CHECK(refused(R"({"states": {"A": ["B"]}})") ==
          "state machine: A may move to B, which is not one of the states");
    CHECK(refused(R"({"states": {"A": []}, "initial": ["C"]})") ==
          "state machine: initial state C is not one of the states");
    CHECK(refused(R"({"states": {}})").find("states must be an object") != std::string::npos);
    CHECK(refused(R"({"states": {"A": "B"}})").find("states.A must be an array") !=
          std::string::npos);
    CHECK(refused(R"({"states": {"A": []}, "field": "_state"})").find("must be a field name") !=
          std::string::npos);
    CHECK(refused(R"({"states": {"A": []}, "history": "state"})") ==
          "state machine: field and history are both 'state'");
    CHECK(
        refused(R"({"states": {"A": []}, "transitions": {}})").find("unknown key 'transitions'") !=
        std::string::npos);
    CHECK(refused(R"({"field": "phase", "history": "log", "states": {"A": []}})") == "accepted");
}

TEST_SUITE_END();
