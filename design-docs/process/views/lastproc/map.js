function (doc) {
  // Only good files with their run conditions recorded take part in processing. Design docs,
  // files marked bad and documents still being written stay out of every step's queue.
  if (doc.status !== "good" || !doc.conditions || !Array.isArray(doc.process)) {
    return;
  }
  // The key is [last step done, _id], so one step's queue is the key range [step] to [step, {}].
  // A file no step has touched yet is filed under the number 0: numbers collate before strings,
  // which puts new files at the head of the index, apart from every named step.
  if (doc.process.length === 0) {
    emit([0, doc._id], doc.conditions);
    return;
  }
  var last = doc.process[doc.process.length - 1];
  // A step entry without a name (a non-empty string) cannot be routed to the next step, so the
  // file is left out rather than queued under a guessed key. with_process applies the same rule.
  if (last && typeof last.name === "string" && last.name !== "") {
    emit([last.name, doc._id], doc.conditions);
  }
}
