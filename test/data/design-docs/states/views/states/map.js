function (doc) {
  if (doc.type === "ous") {
    emit(["ous", doc.state], null);
  }
}
