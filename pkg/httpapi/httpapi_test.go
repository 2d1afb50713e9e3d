package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/httpapi"
)

// newServer returns an echo wired as every service is, with a log buffer.
func newServer(t *testing.T) (*echo.Echo, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	e := httpapi.NewEcho(slog.New(slog.NewJSONHandler(&logs, nil)))
	return e, &logs
}

type response struct {
	status int
	header http.Header
	body   httpapi.ErrorBody
	raw    string
}

func do(t *testing.T, e *echo.Echo, method, target, body string, header map[string]string) response {
	t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	res := response{status: w.Code, header: w.Header(), raw: w.Body.String()}
	if w.Code >= 400 && method != http.MethodHead {
		if err := json.Unmarshal(w.Body.Bytes(), &res.body); err != nil {
			t.Fatalf("%s %s: error body %q is not the contract's shape: %v", method, target, w.Body.String(), err)
		}
	}
	return res
}

func TestErrorHandler(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   errs.Kind
		wantMsg    string
		wantField  string
	}{
		{"invalid field", errs.Field("x.Op", "minutes", "must be between 1 and 480"), 400, errs.Invalid, "minutes must be between 1 and 480", "minutes"},
		{"invalid no message", errs.Wrap("x.Op", errs.Invalid, errors.New("detail")), 400, errs.Invalid, "invalid request", ""},
		{"unauthorized", &errs.Error{Op: "x.Op", Kind: errs.Unauthorized}, 401, errs.Unauthorized, "missing or invalid bearer token", ""},
		{"forbidden", errs.E("x.Op", errs.Forbidden, "requires the role biller"), 403, errs.Forbidden, "requires the role biller", ""},
		{"not found", errs.E("x.Op", errs.NotFound, "no such patient"), 404, errs.NotFound, "no such patient", ""},
		{"conflict wrapped", fmt.Errorf("outer: %w", errs.E("x.Op", errs.Conflict, "consent already revoked")), 409, errs.Conflict, "consent already revoked", ""},
		{"unavailable", errs.Wrap("x.Op", errs.Unavailable, errors.New("nats: timeout")), 503, errs.Unavailable, "temporarily unavailable, retry", ""},
		{"internal", errs.Wrap("x.Op", errs.Internal, errors.New("disk full at /var/x")), 500, errs.Internal, "internal error", ""},
		{"plain error", errors.New("boom: patient Jane Doe"), 500, errs.Internal, "internal error", ""},
		{"echo 413", echo.ErrStatusRequestEntityTooLarge, 413, errs.Invalid, "request entity too large", ""},
		{"echo 500", echo.NewHTTPError(500, "secret detail"), 500, errs.Internal, "internal error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, logs := newServer(t)
			e.POST("/v1/patients/:id", func(c echo.Context) error { return tt.err })
			res := do(t, e, http.MethodPost, "/v1/patients/p-4711?mrn=123", `{"name":"Jane Doe"}`, map[string]string{"X-Request-Id": "req-1"})
			if res.status != tt.wantStatus {
				t.Errorf("status: got %d, want %d", res.status, tt.wantStatus)
			}
			got := res.body.Error
			if got.Code != tt.wantCode || got.Message != tt.wantMsg || got.Field != tt.wantField {
				t.Errorf("error: got %+v, want {Code:%s Message:%s Field:%s}", got, tt.wantCode, tt.wantMsg, tt.wantField)
			}
			if tt.wantCode == errs.Unauthorized && res.header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("WWW-Authenticate: got %q, want %q", res.header.Get("WWW-Authenticate"), "Bearer")
			}
			l := logs.String()
			for _, phi := range []string{"p-4711", "mrn", "Jane"} {
				if tt.name != "plain error" && strings.Contains(l, phi) {
					t.Errorf("log holds %q (from the URL or body): %s", phi, l)
				}
			}
			if tt.wantCode == errs.Internal {
				for _, want := range []string{`"request_id":"req-1"`, `"route":"/v1/patients/:id"`, `"msg":"request failed"`} {
					if !strings.Contains(l, want) {
						t.Errorf("log: got %s, want it to contain %s", l, want)
					}
				}
			}
			if tt.name == "internal" && !strings.Contains(l, `"op":"x.Op"`) {
				t.Errorf("log: got %s, want the op x.Op", l)
			}
		})
	}
}

func TestErrorHandlerEchoRouting(t *testing.T) {
	e, _ := newServer(t)
	e.GET("/v1/things", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	tests := []struct {
		method, target string
		wantStatus     int
		wantCode       errs.Kind
	}{
		{http.MethodGet, "/v1/nowhere", 404, errs.NotFound},
		{http.MethodDelete, "/v1/things", 405, errs.Invalid},
	}
	for _, tt := range tests {
		res := do(t, e, tt.method, tt.target, "", nil)
		if res.status != tt.wantStatus || res.body.Error.Code != tt.wantCode {
			t.Errorf("%s %s: got %d %s, want %d %s", tt.method, tt.target, res.status, res.body.Error.Code, tt.wantStatus, tt.wantCode)
		}
	}
}

func TestErrorHandlerHeadHasNoBody(t *testing.T) {
	e, _ := newServer(t)
	e.HEAD("/x", func(c echo.Context) error { return errs.E("x", errs.NotFound, "gone") })
	res := do(t, e, http.MethodHead, "/x", "", nil)
	if res.status != 404 || res.raw != "" {
		t.Errorf("got %d %q, want 404 and no body", res.status, res.raw)
	}
}

type entry struct {
	ID      string   `json:"id"`
	Minutes int      `json:"minutes"`
	Staff   staff    `json:"staff"`
	Tags    []string `json:"tags,omitempty"`
}

type staff struct {
	Name string `json:"name"`
}

func TestBind(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		limit       int64
		want        entry
		wantErr     string // message; "" means success
		wantField   string
	}{
		{name: "valid", contentType: "application/json", body: `{"id":"e-1","minutes":20,"staff":{"name":"RN"}}`, want: entry{ID: "e-1", Minutes: 20, Staff: staff{Name: "RN"}}},
		{name: "valid, charset, trailing space", contentType: "application/json; charset=utf-8", body: "{\"id\":\"e-1\"}\n  ", want: entry{ID: "e-1"}},
		{name: "no content type", body: `{"id":"e-1"}`, want: entry{ID: "e-1"}},
		{name: "unknown field", body: `{"id":"e-1","minuets":20}`, wantErr: "minuets is not a known field", wantField: "minuets"},
		{name: "unknown nested field", body: `{"staff":{"name":"RN","npi":"1"}}`, wantErr: "npi is not a known field", wantField: "npi"},
		{name: "wrong type", body: `{"minutes":"twenty"}`, wantErr: "minutes must be a JSON integer", wantField: "minutes"},
		{name: "wrong nested type", body: `{"staff":{"name":7}}`, wantErr: "staff.name must be a JSON string", wantField: "staff.name"},
		{name: "wrong element type", body: `{"tags":[1]}`, wantErr: "tags must be a JSON string", wantField: "tags"},
		{name: "not an object", body: `[1,2]`, wantErr: "request body must be a JSON object"},
		{name: "null", body: `null`, wantErr: "request body must be a JSON object"},
		{name: "malformed", body: `{"id":}`, wantErr: "request body is not valid JSON (at byte 7)"},
		{name: "truncated", body: `{"id":"e-1"`, wantErr: "request body is not valid JSON (it ends too early)"},
		{name: "trailing data", body: `{"id":"e-1"} {"id":"e-2"}`, wantErr: "request body must hold a single JSON value"},
		{name: "empty", body: ``, wantErr: "a JSON request body is required"},
		{name: "blank", body: "  \n", wantErr: "a JSON request body is required"},
		{name: "too large", body: `{"id":"` + strings.Repeat("x", 100) + `"}`, limit: 64, wantErr: "request body is larger than 64 bytes"},
		{name: "at the limit", body: `{"id":"` + strings.Repeat("x", 55) + `"}`, limit: 64, want: entry{ID: strings.Repeat("x", 55)}},
		{name: "not json", contentType: "text/plain", body: `{"id":"e-1"}`, wantErr: "Content-Type must be application/json", wantField: "Content-Type"},
		{name: "json suffix", contentType: "application/merge-patch+json", body: `{"id":"e-1"}`, want: entry{ID: "e-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newServer(t)
			var got entry
			e.POST("/bind", func(c echo.Context) error {
				var err error
				if tt.limit > 0 {
					err = httpapi.BindLimit(c, &got, tt.limit)
				} else {
					err = httpapi.Bind(c, &got)
				}
				if err != nil {
					return err
				}
				return httpapi.WriteCreated(c, got)
			})
			h := map[string]string{}
			if tt.contentType != "" {
				h["Content-Type"] = tt.contentType
			}
			res := do(t, e, http.MethodPost, "/bind", tt.body, h)
			if tt.wantErr == "" {
				if res.status != http.StatusCreated {
					t.Fatalf("status: got %d (%s), want 201", res.status, res.raw)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("decoded: got %+v, want %+v", got, tt.want)
				}
				return
			}
			want := httpapi.ErrorDetail{Code: errs.Invalid, Message: tt.wantErr, Field: tt.wantField}
			if res.status != http.StatusBadRequest || res.body.Error != want {
				t.Errorf("got %d %+v, want 400 %+v", res.status, res.body.Error, want)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	tests := []struct {
		name    string
		values  []string // nil: header absent
		want    string
		wantErr string
	}{
		{name: "absent"},
		{name: "uuid", values: []string{"4f1c2a9e-7b1d-4c43-9d0e-3c1f0a6b9e21"}, want: "4f1c2a9e-7b1d-4c43-9d0e-3c1f0a6b9e21"},
		{name: "128 chars", values: []string{strings.Repeat("k", 128)}, want: strings.Repeat("k", 128)},
		{name: "empty", values: []string{""}, wantErr: "Idempotency-Key must be 1 to 128 characters"},
		{name: "too long", values: []string{strings.Repeat("k", 129)}, wantErr: "Idempotency-Key must be 1 to 128 characters"},
		{name: "not ascii", values: []string{"clé"}, wantErr: "Idempotency-Key must be printable ASCII"},
		{name: "control", values: []string{"a\x01b"}, wantErr: "Idempotency-Key must be printable ASCII"},
		{name: "twice", values: []string{"a", "b"}, wantErr: "Idempotency-Key must be sent once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", nil), httptest.NewRecorder())
			if tt.values != nil {
				c.Request().Header["Idempotency-Key"] = tt.values
			}
			got, err := httpapi.IdempotencyKey(c)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("got %q, %v, want %q, nil", got, err, tt.want)
				}
				return
			}
			k, field, msg := errs.Public(err)
			if k != errs.Invalid || field != "Idempotency-Key" || msg != tt.wantErr {
				t.Errorf("got %s %s %q, want invalid Idempotency-Key %q", k, field, msg, tt.wantErr)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name, sent string
		honoured   bool
	}{
		{"honoured", "abc-123", true},
		{"absent", "", false},
		{"with space", "a b", false},
		{"too long", strings.Repeat("r", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newServer(t)
			var seen string
			e.GET("/x", func(c echo.Context) error { seen = httpapi.RequestIDOf(c); return c.NoContent(204) })
			h := map[string]string{}
			if tt.sent != "" {
				h["X-Request-Id"] = tt.sent
			}
			res := do(t, e, http.MethodGet, "/x", "", h)
			got := res.header.Get("X-Request-Id")
			if got != seen || got == "" {
				t.Fatalf("header %q, handler saw %q: want the same, non-empty id", got, seen)
			}
			if (got == tt.sent) != tt.honoured {
				t.Errorf("got id %q for sent %q, want honoured=%v", got, tt.sent, tt.honoured)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	e, logs := newServer(t)
	e.GET("/v1/patients/:id", func(c echo.Context) error {
		httpapi.SetCaller(c, "tok123", "clinician")
		return errs.E("x", errs.NotFound, "no such patient")
	})
	e.GET("/v1/panic/:id", func(c echo.Context) error { panic("oops") })

	do(t, e, http.MethodGet, "/v1/patients/p-4711?mbi=1EG4-TE5-MK73", "", map[string]string{"X-Request-Id": "r-9"})
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", logs.String(), err)
	}
	want := map[string]any{"msg": "http request", "method": "GET", "route": "/v1/patients/:id", "status": float64(404),
		"request_id": "r-9", "token_id": "tok123", "role": "clinician"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s: got %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration"]; !ok {
		t.Errorf("log: got %v, want a duration", line)
	}
	for _, phi := range []string{"p-4711", "1EG4", "mbi"} {
		if strings.Contains(logs.String(), phi) {
			t.Errorf("log holds %q: %s", phi, logs.String())
		}
	}

	logs.Reset()
	res := do(t, e, http.MethodGet, "/v1/panic/p-4711", "", nil)
	if res.status != 500 || res.body.Error.Message != "internal error" {
		t.Errorf("panic: got %d %+v, want 500 internal error", res.status, res.body.Error)
	}
	l := logs.String()
	if !strings.Contains(l, `"op":"httpapi.Recover"`) || !strings.Contains(l, `"status":500`) {
		t.Errorf("panic log: got %s, want the error logged with op httpapi.Recover and the access line with status 500", l)
	}
	if strings.Contains(l, "p-4711") {
		t.Errorf("panic log holds the raw path: %s", l)
	}
}

func TestWriteOK(t *testing.T) {
	e, _ := newServer(t)
	e.GET("/x", func(c echo.Context) error { return httpapi.WriteOK(c, map[string]int{"sequence": 7}) })
	res := do(t, e, http.MethodGet, "/x", "", nil)
	if res.status != 200 || strings.TrimSpace(res.raw) != `{"sequence":7}` {
		t.Errorf("got %d %s, want 200 {\"sequence\":7}", res.status, res.raw)
	}
}
