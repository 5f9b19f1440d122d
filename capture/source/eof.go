package source

import "io"

var errEOF = io.EOF
