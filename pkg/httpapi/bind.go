package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/errs"
)

// DefaultBodyLimit is the largest request body Bind accepts: 1 MiB.
const DefaultBodyLimit = 1 << 20

// Bind decodes the JSON request body into dst (a pointer) with a limit of
// DefaultBodyLimit. See BindLimit.
func Bind(c echo.Context, dst any) error {
	return BindLimit(c, dst, DefaultBodyLimit)
}

// BindLimit decodes the JSON request body into dst (a pointer), accepting at
// most limit bytes. Batch endpoints pass a larger limit than Bind's.
//
// Every failure is an errs.Invalid error, and dst must then be discarded:
//   - a Content-Type other than JSON (field "Content-Type");
//   - an empty body, a body of only null, malformed JSON or data after the
//     JSON value;
//   - a field dst does not declare: Field names it, "x is not a known field";
//   - a value of the wrong type: Field names its JSON path ("name.given");
//   - a body over limit bytes.
func BindLimit(c echo.Context, dst any, limit int64) error {
	const op = "httpapi.Bind"
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == echo.MIMEApplicationJSON || strings.HasSuffix(mt, "+json")) {
			return errs.Field(op, echo.HeaderContentType, "must be application/json")
		}
	}
	if req.Body == nil {
		return errs.E(op, errs.Invalid, "a JSON request body is required")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errs.E(op, errs.Invalid, "request body is larger than %d bytes", limit)
		}
		return errs.Wrap(op, errs.Invalid, fmt.Errorf("reading request body: %w", err))
	}
	switch string(bytes.TrimSpace(body)) {
	case "":
		return errs.E(op, errs.Invalid, "a JSON request body is required")
	case "null":
		return errs.E(op, errs.Invalid, "request body must be a JSON object")
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(op, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.E(op, errs.Invalid, "request body must hold a single JSON value")
	}
	return nil
}

func decodeError(op string, err error) error {
	if syn, ok := errors.AsType[*json.SyntaxError](err); ok {
		return errs.E(op, errs.Invalid, "request body is not valid JSON (at byte %d)", syn.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.E(op, errs.Invalid, "request body is not valid JSON (it ends too early)")
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return errs.E(op, errs.Invalid, "request body must be a JSON %s", jsonType(te.Type))
		}
		return errs.Field(op, te.Field, "must be a JSON %s", jsonType(te.Type))
	}
	// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
	if rest, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if name, uerr := strconv.Unquote(rest); uerr == nil {
			return errs.Field(op, name, "is not a known field")
		}
	}
	return errs.E(op, errs.Invalid, "request body does not have the expected shape")
}

// jsonType names the JSON type a Go type decodes from.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.Number]() {
		return "number"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
}

// IdempotencyKeyHeader is the header that makes a write idempotent
// (api/contract.md, Conventions).
const IdempotencyKeyHeader = "Idempotency-Key"

// IdempotencyKey returns the request's Idempotency-Key header, or "" when it
// is absent. A present key must be 1 to 128 printable ASCII characters and
// appear once; otherwise the error is Invalid naming field "Idempotency-Key".
func IdempotencyKey(c echo.Context) (string, error) {
	const op = "httpapi.IdempotencyKey"
	vals, ok := c.Request().Header[http.CanonicalHeaderKey(IdempotencyKeyHeader)]
	if !ok {
		return "", nil
	}
	if len(vals) != 1 {
		return "", errs.Field(op, IdempotencyKeyHeader, "must be sent once")
	}
	k := vals[0]
	if len(k) < 1 || len(k) > 128 {
		return "", errs.Field(op, IdempotencyKeyHeader, "must be 1 to 128 characters")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "", errs.Field(op, IdempotencyKeyHeader, "must be printable ASCII")
		}
	}
	return k, nil
}
