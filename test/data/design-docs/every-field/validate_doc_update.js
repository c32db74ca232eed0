function (newDoc, oldDoc, userCtx) {
  if (!newDoc._deleted && !newDoc.status) {
    throw({forbidden: "a file needs a status"});
  }
}
