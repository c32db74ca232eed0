function (doc, req) {
  doc.touched = true;
  return [doc, "touched"];
}
