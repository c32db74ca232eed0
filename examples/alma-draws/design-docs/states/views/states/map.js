function (doc) {
  // The OUS life cycle for edw status and the status page: ["ous", state], with the entity id.
  // An OUS a program gave up on (parked by edw after its last attempt) also counts under
  // ["parked", step], so that it shows up even though its state stays.
  if (doc.type !== "ous") {
    return;
  }
  emit(["ous", doc.state], doc.entityId);
  if (typeof doc.status === "string" && doc.status.indexOf("failed:") === 0) {
    emit(["parked", doc.status.substring(7)], doc.entityId);
  }
}
