package errs_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/carelog/carelog/pkg/errs"
)

var allKinds = []errs.Kind{
	errs.Invalid, errs.NotFound, errs.Conflict, errs.Unauthorized,
	errs.Forbidden, errs.Unavailable, errs.Internal,
}

var sentinels = map[errs.Kind]*errs.Error{
	errs.Invalid:      errs.ErrInvalid,
	errs.NotFound:     errs.ErrNotFound,
	errs.Conflict:     errs.ErrConflict,
	errs.Unauthorized: errs.ErrUnauthorized,
	errs.Forbidden:    errs.ErrForbidden,
	errs.Unavailable:  errs.ErrUnavailable,
	errs.Internal:     errs.ErrInternal,
}

func TestE(t *testing.T) {
	tests := []struct {
		name      string
		op        string
		kind      errs.Kind
		format    string
		args      []any
		wantMsg   string
		wantError string
	}{
		{"plain", "consent.Grant", errs.Conflict, "consent already granted", nil, "consent already granted", "consent.Grant: conflict: consent already granted"},
		{"formatted", "careplan.Get", errs.NotFound, "no care plan %s", []any{"cp-1"}, "no care plan cp-1", "careplan.Get: not_found: no care plan cp-1"},
		{"no op", "", errs.Forbidden, "requires the role %s", []any{"biller"}, "requires the role biller", "forbidden: requires the role biller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := errs.E(tt.op, tt.kind, tt.format, tt.args...)
			if err.Op != tt.op || err.Kind != tt.kind || err.Message != tt.wantMsg || err.Field != "" || err.Err != nil {
				t.Errorf("got %+v, want {Op:%s Kind:%s Message:%s}", *err, tt.op, tt.kind, tt.wantMsg)
			}
			if got := err.Error(); got != tt.wantError {
				t.Errorf("Error(): got %q, want %q", got, tt.wantError)
			}
			if got := errs.KindOf(err); got != tt.kind {
				t.Errorf("KindOf: got %s, want %s", got, tt.kind)
			}
		})
	}
}

func TestField(t *testing.T) {
	tests := []struct {
		name    string
		field   string
		rule    string
		args    []any
		wantMsg string
	}{
		{"plain rule", "patientId", "is required", nil, "patientId is required"},
		{"formatted rule", "minutes", "must be between %d and %d", []any{1, 480}, "minutes must be between 1 and 480"},
		{"json path", "goals[2].target", "must not be empty", nil, "goals[2].target must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := errs.Field("timeentry.Record", tt.field, tt.rule, tt.args...)
			if err.Kind != errs.Invalid {
				t.Errorf("Kind: got %s, want %s", err.Kind, errs.Invalid)
			}
			if err.Field != tt.field {
				t.Errorf("Field: got %q, want %q", err.Field, tt.field)
			}
			if err.Message != tt.wantMsg {
				t.Errorf("Message: got %q, want %q", err.Message, tt.wantMsg)
			}
			if err.Op != "timeentry.Record" {
				t.Errorf("Op: got %q, want %q", err.Op, "timeentry.Record")
			}
			if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Error(): got %q, want it to name %q and %q", err.Error(), tt.field, tt.wantMsg)
			}
			if !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid): got false, want true")
			}
		})
	}
}

func TestWrap(t *testing.T) {
	cause := errors.New("nats: timeout")
	tests := []struct {
		name  string
		kind  errs.Kind
		cause error
	}{
		{"unavailable", errs.Unavailable, cause},
		{"internal", errs.Internal, cause},
		{"invalid", errs.Invalid, cause},
		{"wrapping an *Error of another kind", errs.Unavailable, errs.E("inner", errs.Conflict, "x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := errs.Wrap("eventlog.Append", tt.kind, tt.cause)
			if err == nil {
				t.Fatalf("got nil, want an error")
			}
			if got := errs.KindOf(err); got != tt.kind {
				t.Errorf("KindOf: got %s, want %s", got, tt.kind)
			}
			if got := errors.Unwrap(err); got != tt.cause {
				t.Errorf("Unwrap: got %v, want %v", got, tt.cause)
			}
			if !errors.Is(err, tt.cause) {
				t.Errorf("errors.Is(err, cause): got false, want true")
			}
			if want := "eventlog.Append: " + string(tt.kind) + ": " + tt.cause.Error(); err.Error() != want {
				t.Errorf("Error(): got %q, want %q", err.Error(), want)
			}
		})
	}

	t.Run("nil", func(t *testing.T) {
		for _, k := range allKinds {
			if err := errs.Wrap("op", k, nil); err != nil {
				t.Errorf("Wrap(%s, nil): got %#v, want nil", k, err)
			}
		}
	})
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errs.Kind
	}{
		{"nil", nil, errs.Internal},
		{"plain error", errors.New("boom"), errs.Internal},
		{"fmt wrapped plain", fmt.Errorf("ctx: %w", errors.New("boom")), errs.Internal},
		{"E", errs.E("op", errs.NotFound, "gone"), errs.NotFound},
		{"Field", errs.Field("op", "minutes", "is required"), errs.Invalid},
		{"fmt wrapped", fmt.Errorf("loading: %w", errs.E("op", errs.Conflict, "stale")), errs.Conflict},
		{"fmt wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", errs.E("op", errs.Forbidden, "no"))), errs.Forbidden},
		{"outermost wins", errs.Wrap("outer", errs.Unavailable, errs.E("inner", errs.Conflict, "stale")), errs.Unavailable},
		{"outermost wins through fmt", fmt.Errorf("x: %w", errs.Wrap("outer", errs.Internal, fmt.Errorf("y: %w", errs.E("inner", errs.NotFound, "gone")))), errs.Internal},
		{"joined", errors.Join(errors.New("plain"), errs.E("op", errs.Unauthorized, "no token")), errs.Unauthorized},
		{"sentinel", errs.ErrUnavailable, errs.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errs.KindOf(tt.err); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestIsSentinels(t *testing.T) {
	// Every sentinel matches errors of its own kind only, however the error
	// was built or wrapped.
	builders := []struct {
		name string
		make func(errs.Kind) error
	}{
		{"E", func(k errs.Kind) error { return errs.E("op", k, "message") }},
		{"Wrap", func(k errs.Kind) error { return errs.Wrap("op", k, errors.New("cause")) }},
		{"fmt wrapped", func(k errs.Kind) error { return fmt.Errorf("ctx: %w", errs.E("op", k, "message")) }},
		{"with field", func(k errs.Kind) error { return &errs.Error{Op: "op", Kind: k, Field: "f", Message: "m"} }},
	}
	for _, b := range builders {
		for _, errKind := range allKinds {
			err := b.make(errKind)
			for _, sentKind := range allKinds {
				want := errKind == sentKind
				if got := errors.Is(err, sentinels[sentKind]); got != want {
					t.Errorf("%s: errors.Is(%s error, Err%s): got %v, want %v", b.name, errKind, sentKind, got, want)
				}
			}
		}
	}

	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"plain error is no sentinel", errors.New("conflict"), errs.ErrConflict, false},
		{"nil is no sentinel", nil, errs.ErrInternal, false},
		{"non-sentinel target with the same kind", errs.E("op", errs.Conflict, "a"), errs.E("op", errs.Conflict, "a"), false},
		{"sentinel is not a plain error", errs.E("op", errs.Conflict, "a"), errors.New("a"), false},
		{"cause still matches", errs.Wrap("op", errs.Unavailable, errSentinelCause), errSentinelCause, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

var errSentinelCause = errors.New("cause")

// statusErr is a caller's own error type, carried inside an *errs.Error.
type statusErr struct{ code int }

func (e *statusErr) Error() string { return fmt.Sprintf("status %d", e.code) }

func TestAsInnerType(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantOK   bool
	}{
		{"direct", errs.Wrap("op", errs.Unavailable, &statusErr{503}), 503, true},
		{"through fmt", errs.Wrap("op", errs.Unavailable, fmt.Errorf("calling: %w", &statusErr{502})), 502, true},
		{"through two *Error", fmt.Errorf("x: %w", errs.Wrap("outer", errs.Internal, errs.Wrap("inner", errs.Unavailable, &statusErr{504}))), 504, true},
		{"absent", errs.E("op", errs.NotFound, "gone"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var se *statusErr
			ok := errors.As(tt.err, &se)
			if ok != tt.wantOK {
				t.Fatalf("errors.As: got %v, want %v", ok, tt.wantOK)
			}
			if ok && se.code != tt.wantCode {
				t.Errorf("code: got %d, want %d", se.code, tt.wantCode)
			}
			var ee *errs.Error
			if !errors.As(tt.err, &ee) {
				t.Errorf("errors.As(*errs.Error): got false, want true")
			}
		})
	}
}

func TestPublic(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantKind  errs.Kind
		wantField string
		wantMsg   string
	}{
		{"plain error", errors.New("disk full: patient Jane Doe"), errs.Internal, "", "internal error"},
		{"fmt wrapped plain", fmt.Errorf("x: %w", errors.New("secret")), errs.Internal, "", "internal error"},
		{"wrapped internal", errs.Wrap("op", errs.Internal, errors.New("disk full at /var/x")), errs.Internal, "", "internal error"},
		{"internal with message", errs.E("op", errs.Internal, "row for patient Jane Doe corrupt"), errs.Internal, "", "internal error"},
		{"internal with field", &errs.Error{Kind: errs.Internal, Field: "name", Message: "Jane Doe"}, errs.Internal, "", "internal error"},
		{"internal wrapping a message", errs.Wrap("op", errs.Internal, errs.E("inner", errs.NotFound, "no patient Jane Doe")), errs.Internal, "", "internal error"},
		{"not found with message", errs.E("op", errs.NotFound, "no such patient"), errs.NotFound, "", "no such patient"},
		{"empty message: default", errs.Wrap("op", errs.Conflict, errors.New("seq 41 != 42")), errs.Conflict, "", "conflicts with the current state"},
		{"empty message sentinel", errs.ErrUnavailable, errs.Unavailable, "", "temporarily unavailable, retry"},
		{"empty unauthorized", &errs.Error{Kind: errs.Unauthorized}, errs.Unauthorized, "", "missing or invalid bearer token"},
		{"empty forbidden", &errs.Error{Kind: errs.Forbidden}, errs.Forbidden, "", "this role may not do that"},
		{"empty not found", &errs.Error{Kind: errs.NotFound}, errs.NotFound, "", "not found"},
		{"empty invalid", errs.Wrap("bind", errs.Invalid, errors.New("unexpected EOF")), errs.Invalid, "", "invalid request"},
		{"field", errs.Field("timeentry.Record", "minutes", "must be between %d and %d", 1, 480), errs.Invalid, "minutes", "minutes must be between 1 and 480"},
		{"field through fmt", fmt.Errorf("validating: %w", errs.Field("op", "goals[0].title", "is required")), errs.Invalid, "goals[0].title", "goals[0].title is required"},
		{"inner message", errs.Wrap("outer", errs.NotFound, errs.E("inner", errs.NotFound, "no such care plan")), errs.NotFound, "", "no such care plan"},
		{"inner message through fmt", errs.Wrap("outer", errs.Conflict, fmt.Errorf("append: %w", errs.E("inner", errs.Conflict, "consent already revoked"))), errs.Conflict, "", "consent already revoked"},
		{"inner field", errs.Wrap("outer", errs.Invalid, errs.Field("inner", "minutes", "must be positive")), errs.Invalid, "minutes", "minutes must be positive"},
		{"outer message wins", &errs.Error{Kind: errs.NotFound, Message: "outer", Err: errs.E("inner", errs.NotFound, "inner")}, errs.NotFound, "", "outer"},
		{"outer kind wins", errs.Wrap("outer", errs.Unavailable, errs.E("inner", errs.Conflict, "stream sequence mismatch")), errs.Unavailable, "", "temporarily unavailable, retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, field, msg := errs.Public(tt.err)
			if k != tt.wantKind || field != tt.wantField || msg != tt.wantMsg {
				t.Errorf("got (%s, %q, %q), want (%s, %q, %q)", k, field, msg, tt.wantKind, tt.wantField, tt.wantMsg)
			}
			if k != errs.KindOf(tt.err) {
				t.Errorf("kind: got %s, want KindOf's %s", k, errs.KindOf(tt.err))
			}
		})
	}
}
