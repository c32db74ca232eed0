function (doc, req) {
  // A filter that throws ends the changes feed, and on some servers takes the whole server down,
  // so every odd shape of document is answered with false instead: deleted docs arrive as
  // {_id, _rev, _deleted: true}, and other docs may carry no process array or unnamed entries.
  try {
    var steps = doc && doc.process;
    if (!Array.isArray(steps) || !req || !req.query) {
      return false;
    }
    var wanted = req.query.last;
    if (wanted === undefined || wanted === null) {
      return false;
    }
    // Compared as text: some servers JSON-decode query parameters, so last=0 arrives as the
    // number 0 and last=move_to_sps as a string.
    wanted = String(wanted);
    if (steps.length === 0) {
      // "0" stands for a file no step has touched yet, as in the lastproc view.
      return wanted === "0";
    }
    var entry = steps[steps.length - 1];
    if (!entry || typeof entry !== "object") {
      return false;
    }
    // Only a string names a step, as in the lastproc view; this also keeps a step named by the
    // number 0 from passing for an untouched file.
    return typeof entry.name === "string" && entry.name !== "" && entry.name === wanted;
  } catch (e) {
    return false;
  }
}
