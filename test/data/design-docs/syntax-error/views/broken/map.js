function (doc) {
  if (doc.status === "good") {
    emit(doc._id, null));
  }
}
