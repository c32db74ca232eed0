function (doc) {
  // One row per file and status ("good", "bad", ...); with the _sum reduce and group=true the
  // view answers how many files are in each status. Documents without a status are not files.
  if (doc.status !== undefined && doc.status !== null) {
    emit(doc.status, 1);
  }
}
