package handlers

import "flag"

// update rewrites golden files instead of comparing with them: go test ./handlers -update.
var update = flag.Bool("update", false, "rewrite golden files")
