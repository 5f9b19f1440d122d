package impair

import "errors"

// ErrBadValue is wrapped by every parse error of this package.
var ErrBadValue = errors.New("impair: bad value")
