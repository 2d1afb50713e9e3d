// Package errs is Carelog's one error vocabulary (STYLE.md rule 11). Every
// error that crosses a service boundary carries a Kind; the HTTP layer maps
// kinds to status codes in one place (httpapi.ErrorHandler) and NATS replies
// carry the same JSON shape.
//
// Messages of Invalid errors are meant for the caller and must name the field
// and the rule; they must never contain patient data. Internal errors keep
// their cause for the log and are reported to callers as "internal error".
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error. The string values are part of the public API
// (the "code" of the contract's error shape).
type Kind string

// The kinds of the contract (api/contract.md, Conventions).
const (
	Invalid      Kind = "invalid"
	NotFound     Kind = "not_found"
	Conflict     Kind = "conflict"
	Unauthorized Kind = "unauthorized"
	Forbidden    Kind = "forbidden"
	Unavailable  Kind = "unavailable"
	Internal     Kind = "internal"
)

// Error is a classified error. Op names the operation ("consent.Grant"),
// Field the offending request field (JSON path, camelCase) when there is one.
type Error struct {
	Op      string
	Kind    Kind
	Field   string
	Message string
	Err     error
}

func (e *Error) Error() string {
	s := ""
	if e.Op != "" {
		s = e.Op + ": "
	}
	s += string(e.Kind)
	if e.Field != "" {
		s += " " + e.Field
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, errs.Conflict-kind sentinel) work: two *Error match
// when the target has only a Kind set.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Op == "" && t.Field == "" && t.Message == "" && t.Err == nil && t.Kind == e.Kind
}

// Sentinels for errors.Is checks: errors.Is(err, errs.ErrConflict).
var (
	ErrInvalid      = &Error{Kind: Invalid}
	ErrNotFound     = &Error{Kind: NotFound}
	ErrConflict     = &Error{Kind: Conflict}
	ErrUnauthorized = &Error{Kind: Unauthorized}
	ErrForbidden    = &Error{Kind: Forbidden}
	ErrUnavailable  = &Error{Kind: Unavailable}
	ErrInternal     = &Error{Kind: Internal}
)

// E builds an error of kind k for operation op with a caller-facing message.
func E(op string, k Kind, format string, args ...any) *Error {
	return &Error{Op: op, Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Field builds an Invalid error naming the offending field and the rule it
// broke, e.g. Field("timeentry.Record", "minutes", "must be between 1 and 480").
func Field(op, field, rule string, args ...any) *Error {
	return &Error{Op: op, Kind: Invalid, Field: field, Message: field + " " + fmt.Sprintf(rule, args...)}
}

// Wrap classifies err under kind k for op. A nil err returns nil.
func Wrap(op string, k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Kind: k, Err: err}
}

// KindOf returns the Kind of the outermost *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Public returns the kind, field and caller-facing message of err. Internal
// errors, and errors with no message of their own, get a generic message so
// that no internal detail (or patient data inside one) leaks to callers.
func Public(err error) (k Kind, field, message string) {
	// The outermost *Error classifies err, as in KindOf: a cause wrapped as
	// Internal (or as another kind) must not surface with its own kind and
	// message.
	var outer *Error
	if !errors.As(err, &outer) || outer.Kind == Internal {
		return Internal, "", "internal error"
	}
	// The first message in the chain of *Errors of that kind is the public one.
	for e := outer; ; {
		if e.Message != "" {
			return outer.Kind, e.Field, e.Message
		}
		var inner *Error
		if !errors.As(e.Err, &inner) || inner.Kind != outer.Kind {
			break
		}
		e = inner
	}
	return outer.Kind, outer.Field, defaultMessage[outer.Kind]
}

var defaultMessage = map[Kind]string{
	Invalid:      "invalid request",
	NotFound:     "not found",
	Conflict:     "conflicts with the current state",
	Unauthorized: "missing or invalid bearer token",
	Forbidden:    "this role may not do that",
	Unavailable:  "temporarily unavailable, retry",
}
