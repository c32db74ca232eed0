function (doc) {
  // Processing block states for edw status and the status page: ["pb", status] per PB state,
  // ["deployments", "deployed"] per deployment.
  if (doc.type === "pb_state" && typeof doc.status === "string") {
    emit(["pb", doc.status.indexOf("failed:") === 0 ? "parked" : doc.status], doc.pb);
  } else if (doc.type === "deployment") {
    emit(["deployments", "deployed"], doc.pb);
  }
}
