package filter

import (
	"errors"
	"fmt"
	"strings"
)

// ErrLinkType is returned (wrapped) by Compile for a link type it cannot
// filter.
var ErrLinkType = errors.New("filter: unsupported link type")

// SyntaxError is the error Compile returns for an expression it cannot
// compile: a syntax error, an unknown name, or a primitive that makes no
// sense for the link type. Col is the 1-based byte column it points at.
type SyntaxError struct {
	Expr string // the whole expression
	Col  int    // 1-based column of the offending token
	Msg  string // what is wrong, for a user
}

// Error returns "filter: column N: msg" followed by the expression and a
// caret line under the column.
func (e *SyntaxError) Error() string {
	col := e.Col
	if col < 1 {
		col = 1
	}
	if col > len(e.Expr)+1 {
		col = len(e.Expr) + 1
	}
	// keep the caret under the right character: tabs stay tabs
	pad := strings.Map(func(r rune) rune {
		if r == '\t' {
			return '\t'
		}
		return ' '
	}, e.Expr[:col-1])
	return fmt.Sprintf("filter: column %d: %s\n  %s\n  %s^", e.Col, e.Msg, e.Expr, pad)
}

// msgError is an error message without a position yet; the parser gives it
// the column of the token it was building.
type msgError struct{ msg string }

func (e *msgError) Error() string { return e.msg }

func errf(format string, args ...any) error { return &msgError{fmt.Sprintf(format, args...)} }
