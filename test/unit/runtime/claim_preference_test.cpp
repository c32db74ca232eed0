// ClaimPreference: each doc has one preferred worker among a step's live workers, the same on
// every worker, and a worker leaving moves only its own docs.
#include "runtime/claim_preference.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

const std::vector<std::string> four = {"vm1:11/sps", "vm1:12/sps", "vm2:21/sps", "vm2:22/sps"};

std::string doc_id(int n)
{
    return "ma22a000_" + std::to_string(n);
}

// The preference as worker `me` sees it, knowing `workers` (a mutex inside: not movable).
std::unique_ptr<edw::ClaimPreference> seen_by(const std::string& me,
                                              const std::vector<std::string>& workers)
{
    auto preference = std::make_unique<edw::ClaimPreference>();
    std::vector<std::string> others;
    for (const auto& name : workers) {
        if (name != me) {
            others.push_back(name);
        }
    }
    preference->set_workers(me, others);
    return preference;
}

} // namespace

TEST_CASE("a worker alone, or not yet told of others, prefers every doc")
{
    edw::ClaimPreference unset;
    CHECK(unset.workers() == 1);
    CHECK(unset.mine("anything"));
    const auto alone = seen_by("vm1:11/sps", {"vm1:11/sps"});
    CHECK(alone->workers() == 1);
    for (int n = 0; n < 100; ++n) {
        CHECK(alone->mine(doc_id(n)));
    }
}

TEST_CASE("four workers agree on exactly one preferred worker per doc, in even shares")
{
    std::vector<std::unique_ptr<edw::ClaimPreference>> views;
    for (const auto& me : four) {
        views.push_back(seen_by(me, four));
        CHECK(views.back()->workers() == 4);
    }
    std::map<std::size_t, int> share;
    const int docs = 20000;
    for (int n = 0; n < docs; ++n) {
        int preferred_by = 0;
        for (std::size_t w = 0; w < views.size(); ++w) {
            if (views[w]->mine(doc_id(n))) {
                ++preferred_by;
                ++share[w];
            }
        }
        REQUIRE(preferred_by == 1);
    }
    for (std::size_t w = 0; w < views.size(); ++w) {
        CAPTURE(w);
        // 5,000 expected; a binomial spread is about 61, so 4,700-5,300 fails only for a
        // hash that favours some names.
        CHECK(share[w] > 4700);
        CHECK(share[w] < 5300);
    }
}

TEST_CASE("a worker that leaves hands on only its own docs, and the others keep theirs")
{
    const auto before = seen_by(four[0], four);
    const std::vector<std::string> three(four.begin(), four.end() - 1); // four[3] left
    const auto after = seen_by(four[0], three);
    const auto leaver = seen_by(four[3], four);
    int gained = 0;
    for (int n = 0; n < 5000; ++n) {
        const auto id = doc_id(n);
        if (before->mine(id)) {
            CHECK(after->mine(id)); // nothing of its own moves away
        } else if (after->mine(id)) {
            CHECK(leaver->mine(id)); // what it gains was the leaver's
            ++gained;
        }
    }
    CHECK(gained > 0);
}

TEST_CASE("a worker seen claiming is added once, and the next list of live workers replaces it")
{
    edw::ClaimPreference preference;
    CHECK_FALSE(preference.add_worker("vm2:21/sps")); // not sharing by preference yet
    preference.set_workers("vm1:11/sps", {});
    CHECK(preference.add_worker("vm2:21/sps"));
    CHECK_FALSE(preference.add_worker("vm2:21/sps"));
    CHECK_FALSE(preference.add_worker("vm1:11/sps")); // itself
    CHECK(preference.workers() == 2);
    preference.set_workers("vm1:11/sps", {"vm2:22/sps", "vm2:23/sps"});
    CHECK(preference.workers() == 3);
    const auto same = seen_by("vm1:11/sps", {"vm1:11/sps", "vm2:22/sps", "vm2:23/sps"});
    for (int n = 0; n < 200; ++n) {
        CHECK(preference.mine(doc_id(n)) == same->mine(doc_id(n)));
    }
}
