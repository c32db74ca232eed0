function (doc) {
  // Gemini queue items by [queue, state], counted by the _count reduce: what `edw status` and
  // `edw serve` show as state groups. An item parked after its last failed attempt (status
  // "failed:<queue>") counts as parked, not as queued.
  if (doc.type !== "queue" || typeof doc.queue !== "string" || typeof doc.state !== "string") {
    return;
  }
  if (typeof doc.status === "string" && doc.status.indexOf("failed:") === 0) {
    emit([doc.queue, "parked"], null);
  } else {
    emit([doc.queue, doc.state], null);
  }
}
