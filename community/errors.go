package community

import (
	"errors"
	"fmt"
)

// Code classifies an Error so callers can react without parsing text.
type Code string

const (
	ENotFound  Code = "not_found"   // no such item, member or group
	EForbidden Code = "forbidden"   // the actor's role or relation does not allow it
	EConflict  Code = "conflict"    // the item's state does not allow it (full, already done, ...)
	EInvalid   Code = "invalid"     // bad input
	EDuplicate Code = "duplicate"   // the same actor repeated an action that already took effect
	EInternal  Code = "internal"    // anything else
	EUnavail   Code = "unavailable" // the store is unreachable; try later
)

// Error is a domain error: a Code for programs and a Message for people, written in Chinese
// because it is shown to residents as is.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and formatted Chinese message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for other
// errors and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the people-facing message of err: the Message of a domain error, a
// generic apology otherwise (internal details never reach a group chat).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "抱歉，系统出了点问题，请稍后再试。"
}
