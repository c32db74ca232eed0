function (doc) { this is not JavaScript (
