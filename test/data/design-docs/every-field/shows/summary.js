function (doc, req) {
  return {body: doc._id + " is " + doc.status};
}
