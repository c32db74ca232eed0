function (doc) {
  // What `edw status` and `edw serve` count, one row per fact, counted by the _count reduce:
  //   ["done", step, previous step or 0, minute or null]   a process entry: done per step, the
  //                                        pipeline's shape, and throughput per minute; value:
  //                                        its date, for when a burst began within a minute
  //   ["waiting", position, since]         where the doc waits (the lastproc rule) and since when
  //   ["retrying", step, retry time]       a failed attempt at a step the doc has not passed yet
  //   ["failed", step, time]               parked after its last attempt (status "failed:<step>")
  //   ["claimed", step, worker]            a worker's claim (listeners with --lease); value: until
  //   ["unroutable", reason, since]        a good doc whose process no step can route
  //   ["rerun", campaign, passed again]    the doc's last edw_reruns item: the rerun that sent it
  //                                        back, and whether it has passed that step since
  // Times are ISO 8601 UTC text, which sorts as time, so the oldest rows come first.
  if (doc._id.indexOf("_design/") === 0) {
    return;
  }
  var process = Array.isArray(doc.process) ? doc.process : [];
  var passed = {};
  var previous = 0;
  for (var i = 0; i < process.length; i++) {
    var entry = process[i];
    if (!entry || typeof entry !== "object" || typeof entry.name !== "string" || entry.name === "") {
      previous = 0;
      continue;
    }
    var minute = typeof entry.date === "string" && entry.date.length >= 16 ?
        entry.date.substring(0, 16) : null;
    emit(["done", entry.name, previous, minute], typeof entry.date === "string" ? entry.date : null);
    passed[entry.name] = true;
    previous = entry.name;
  }

  // The last rerun only: a doc sent back again by a later rerun counts for that one.
  var reruns = Array.isArray(doc.edw_reruns) ? doc.edw_reruns : [];
  var rerun = reruns.length > 0 ? reruns[reruns.length - 1] : null;
  if (rerun && typeof rerun === "object" && typeof rerun.campaign === "string" &&
      typeof rerun.step === "string") {
    emit(["rerun", rerun.campaign, passed[rerun.step] === true], null);
  }

  // A good doc with conditions whose process no step can route: no step will ever take it, so
  // it is counted apart, with the reason, rather than left out without a word.
  if (doc.status === "good" && doc.conditions && doc.process !== undefined) {
    var reason = null;
    if (!Array.isArray(doc.process)) {
      reason = "process is not an array";
    } else if (doc.process.length > 0) {
      var tail = doc.process[doc.process.length - 1];
      if (!tail || typeof tail !== "object" || Array.isArray(tail) ||
          typeof tail.name !== "string" || tail.name === "") {
        reason = "the last process entry has no name";
      }
    }
    if (reason !== null) {
      emit(["unroutable", reason, typeof doc.datecreated === "number" ?
          new Date(doc.datecreated * 1000).toISOString() : null], null);
    }
  }

  // The same rule as the lastproc view: only good docs with conditions and a process array.
  if (doc.status === "good" && doc.conditions && Array.isArray(doc.process)) {
    if (process.length === 0) {
      // A new doc: since its creation time when it has one (EDELWEISS's datecreated, in seconds).
      var created = typeof doc.datecreated === "number" ?
          new Date(doc.datecreated * 1000).toISOString() : null;
      emit(["waiting", 0, created], null);
    } else {
      var last = process[process.length - 1];
      if (last && typeof last.name === "string" && last.name !== "") {
        emit(["waiting", last.name, typeof last.date === "string" ? last.date : null], null);
      }
    }
  }

  var failures = Array.isArray(doc.edw_failures) ? doc.edw_failures : [];
  var open = {};
  for (var f = 0; f < failures.length; f++) {
    var failure = failures[f];
    // A retried entry was settled by `edw retry`; the newest open entry per step counts.
    if (failure && typeof failure.step === "string" && failure.retried === undefined) {
      open[failure.step] = failure;
    }
  }
  var parked = typeof doc.status === "string" && doc.status.indexOf("failed:") === 0 ?
      doc.status.substring(7) : null;
  for (var step in open) {
    var summary = {message: String(open[step].message || "").substring(0, 300),
                   attempt: open[step].attempt || null};
    if (step === parked) {
      emit(["failed", step, open[step].time || null], summary);
    } else if (doc.status === "good" && !passed[step]) {
      emit(["retrying", step, open[step].retry_at || open[step].time || null], summary);
    }
  }
  if (parked !== null && open[parked] === undefined) {
    emit(["failed", parked, null], {message: "", attempt: null});
  }

  var claim = doc.edw_claim;
  if (claim && typeof claim === "object" && typeof claim.step === "string") {
    emit(["claimed", claim.step, String(claim.worker || "")], claim.until || null);
  }
}
