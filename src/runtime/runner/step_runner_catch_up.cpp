// StepRunner's catch-up: the docs already waiting at its step when it starts, read from the
// lastproc view page by page (or, for the whole feed read from its start, its progress).
#include "step_runner_impl.hpp"

namespace edw {

void StepRunner::Impl::catch_up()
{
    const auto prefix = m_selection.position()->key_prefix();
    ViewQuery query;
    query.startkey = nlohmann::json::array({prefix});
    query.endkey = nlohmann::json::array({prefix, nlohmann::json::object()});
    query.reduce = false;
    query.include_docs = true;
    query.limit = m_options.catch_up_page;
    query.stable = true;
    Progress progress("catch-up " + m_step.name, waiting_count(query), "docs");
    // The first page brings the index up to date (past the seq the feed will start from);
    // the later ones read it as it then was, from the same shard copies. Otherwise each page
    // waits while the server maps the docs this step has just written, in JavaScript:
    // 250-480 ms a page of 500 on CouchDB 3.4, against 100 ms. A doc that has moved on
    // since is still listed then, with its doc as it is now, and dispatch leaves it.
    const auto first = catch_up_pass(query, true, progress);
    long seen = first.seen;
    if (first.read_stale && !m_stop.stop_requested()) {
        // An index read without updating may have lost what it had not yet saved (a
        // server restarted meanwhile), so the range is read once more, brought up to date:
        // one update for the whole catch-up instead of one a page. Docs handed out and
        // written have left it; those still in flight are left by dispatch.
        seen += catch_up_pass(query, false, progress).seen;
    }
    progress.finish();
    m_counts.caught_up += seen;
    log_info("catch-up: " + std::to_string(seen) + " docs were waiting at step " + m_step.name);
}

// Pages through the view range of `query` into the queue, the pages after the first without
// updating the index when `stale_after_first`.
StepRunner::Impl::CatchUpPass
StepRunner::Impl::catch_up_pass(ViewQuery query, bool stale_after_first, Progress& progress)
{
    CatchUpPass pass;
    std::optional<std::string> last_id;
    while (!m_stop.stop_requested()) {
        const auto page = query_view(query);
        pass.read_stale = pass.read_stale || !query.update;
        for (const auto& row : page.rows) {
            if (m_stop.stop_requested()) {
                return pass; // the rest of the page waits for the next start
            }
            if (row.id == last_id) {
                continue; // the row the page started from, handed out with the page before
            }
            // Counted when taken in hand: a stale page lists docs done since, and the second
            // pass those still being worked on.
            if (row.doc && row.doc->is_object() && dispatch(*row.doc, std::nullopt)) {
                ++pass.seen;
                progress.advance(1);
            }
        }
        if (page.rows.size() < *query.limit) {
            break;
        }
        // Page by key, never by skip: the docs handled so far leave the range while we read
        // it, so the last row may be gone when the next page is asked for, and skipping one
        // row would then skip a doc that still waits.
        query.startkey = page.rows.back().key;
        query.startkey_docid = page.rows.back().id;
        last_id = page.rows.back().id;
        query.update = !stale_after_first;
    }
    return pass;
}

// How many docs the catch-up's range holds, for its progress: the view's reduce (lastproc
// counts); 0 (unknown) when the view has none or the query fails, which the paging reports.
std::uint64_t StepRunner::Impl::waiting_count(const ViewQuery& range)
{
    ViewQuery count;
    count.startkey = range.startkey;
    count.endkey = range.endkey;
    try {
        const auto result = m_database.query(m_options.design, m_options.view, count);
        if (!result.rows.empty() && result.rows[0].value.is_number_unsigned()) {
            return result.rows[0].value.get<std::uint64_t>();
        }
    } catch (const Error&) {
    }
    return 0;
}

ViewResult StepRunner::Impl::query_view(const ViewQuery& query)
{
    try {
        return patiently("the " + m_options.view + " query",
                         [&] { return m_database.query(m_options.design, m_options.view, query); });
    } catch (const HttpError& error) {
        if (error.is_not_found()) {
            throw HttpError(std::string(error.what()) + " (is the design doc _design/" +
                                m_options.design + " there? edw design push uploads it)",
                            error.status(), error.error(), error.reason());
        }
        throw;
    }
}

// A feed without docs: ask the view about just this doc, never the whole view.
std::optional<nlohmann::json> StepRunner::Impl::look_up_waiting(const std::string& id)
{
    if (!m_selection.position()) {
        return m_database.get(id);
    }
    ViewQuery query;
    query.keys = std::vector<nlohmann::json>{
        nlohmann::json::array({m_selection.position()->key_prefix(), id})};
    query.reduce = false;
    query.include_docs = true;
    const auto result = query_view(query);
    for (const auto& row : result.rows) {
        if (row.doc && row.doc->is_object()) {
            return row.doc;
        }
    }
    return std::nullopt;
}

} // namespace edw
