function (doc, req) {
  // with_process for several steps at once: one changes feed for a process that runs several
  // steps. req.query.steps is a JSON array of step names, "0" for a file no step has touched.
  // As in with_process, nothing may throw: a filter that throws ends the feed (or the server).
  try {
    var steps = doc && doc.process;
    if (!Array.isArray(steps) || !req || !req.query || req.query.steps === undefined) {
      return false;
    }
    // CouchDB passes the parameter as text; some servers JSON-decode it first.
    var wanted = req.query.steps;
    if (typeof wanted === "string") {
      wanted = JSON.parse(wanted);
    }
    if (!Array.isArray(wanted)) {
      return false;
    }
    var last = "0";
    if (steps.length > 0) {
      var entry = steps[steps.length - 1];
      // Only a non-empty string names a step, as in the lastproc view.
      if (!entry || typeof entry !== "object" || typeof entry.name !== "string" ||
          entry.name === "") {
        return false;
      }
      last = entry.name;
    }
    for (var i = 0; i < wanted.length; i++) {
      if (String(wanted[i]) === last) {
        return true;
      }
    }
    return false;
  } catch (e) {
    return false;
  }
}
