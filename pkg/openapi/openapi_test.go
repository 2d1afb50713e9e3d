package openapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carelog/carelog/pkg/openapi"
	"github.com/labstack/echo/v4"
)

type goal struct {
	Title  string `json:"title"`
	Target *int   `json:"target"`
}

type audit struct {
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}

// Kind is embedded as a plain (non-struct) field; encoding/json names it Kind.
type Kind string

type carePlan struct {
	audit
	Kind
	ID       string            `json:"id"`
	Version  int64             `json:"version"`
	Score    float64           `json:"score,omitempty"`
	Active   bool              `json:"active"`
	Note     *string           `json:"note"`
	Due      *time.Time        `json:"due,omitempty"`
	Reviewed time.Time         `json:"reviewed,omitzero"`
	Goals    []goal            `json:"goals"`
	Tags     []string          `json:"tags,omitempty"`
	Owner    goal              `json:"owner"`
	Labels   map[string]string `json:"labels,omitempty"`
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Secret   string            `json:"-"`
	//lint:ignore SA5008 deliberate: encoding/json names this field "-"
	Dash  string `json:"-,"`
	NoTag string
	//lint:ignore U1000 deliberate: unexported fields must stay out of the schema
	internal string
}

type recordTime struct {
	PatientID string `json:"patientId"`
	Minutes   int    `json:"minutes"`
}

type recorded struct {
	ID string `json:"id"`
}

// document mounts ops through Handle on a fresh echo and returns the parsed
// document.
func document(t *testing.T, e *echo.Echo, s *openapi.Spec) map[string]any {
	t.Helper()
	raw, err := s.Document("Carelog API", "1.2.3", e.Routes())
	if err != nil {
		t.Fatalf("Document: got %v, want nil", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("Document is not JSON: got %v for %s", err, raw)
	}
	return doc
}

// at walks doc along keys (map keys, or decimal indexes into arrays).
func at(t *testing.T, doc any, keys ...string) any {
	t.Helper()
	cur := doc
	for i, k := range keys {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[k]
			if !ok {
				t.Fatalf("%s: got no key %q (have %v), want one", strings.Join(keys[:i], "."), k, mapKeys(v))
			}
			cur = next
		case []any:
			var idx int
			for _, c := range k {
				idx = idx*10 + int(c-'0')
			}
			if idx >= len(v) {
				t.Fatalf("%s: got %d items, want index %d", strings.Join(keys[:i], "."), len(v), idx)
			}
			cur = v[idx]
		default:
			t.Fatalf("%s: got %T, want an object or array", strings.Join(keys[:i], "."), cur)
		}
	}
	return cur
}

func mapKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestHandleServesAndDocuments(t *testing.T) {
	e := echo.New()
	s := openapi.NewSpec()
	v1 := e.Group("/v1")
	s.Handle(v1, http.MethodGet, "/patients/:id", func(c echo.Context) error {
		return c.JSON(http.StatusOK, recorded{ID: c.Param("id")})
	}, openapi.Op{Summary: "Get a patient", Roles: []string{"nurse", "physician"}, Response: recorded{}})
	s.Handle(e, http.MethodPost, "/v1/patients/:id/time", func(c echo.Context) error {
		return c.JSON(http.StatusCreated, recorded{ID: "t-1"})
	}, openapi.Op{Summary: "Record time", Roles: []string{"nurse"}, Request: recordTime{}, Response: recorded{}, Status: http.StatusCreated})
	s.Handle(e, http.MethodGet, "/v1/patients", func(c echo.Context) error {
		return c.NoContent(http.StatusOK)
	}, openapi.Op{Summary: "List patients", Roles: []string{"nurse"}, Query: map[string]string{"after": "cursor", "limit": "page size"}})
	s.Handle(e, http.MethodGet, "/healthz", func(c echo.Context) error {
		return c.String(http.StatusOK, "ok")
	}, openapi.Op{Summary: "Health"})

	// The routes actually serve.
	serves := []struct {
		method, path string
		wantStatus   int
		wantBody     string
	}{
		{http.MethodGet, "/v1/patients/p-1", http.StatusOK, `{"id":"p-1"}`},
		{http.MethodPost, "/v1/patients/p-1/time", http.StatusCreated, `{"id":"t-1"}`},
		{http.MethodGet, "/healthz", http.StatusOK, "ok"},
	}
	for _, tt := range serves {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.wantStatus || strings.TrimSpace(rec.Body.String()) != tt.wantBody {
			t.Errorf("%s %s: got %d %q, want %d %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
		}
	}

	raw, err := s.Document("Carelog API", "1.2.3", e.Routes())
	if err != nil {
		t.Fatalf("Document: got %v, want nil", err)
	}
	if !json.Valid(raw) {
		t.Fatalf("Document: got invalid JSON %s", raw)
	}
	doc := document(t, e, s)

	scalars := []struct {
		path []string
		want any
	}{
		{[]string{"openapi"}, "3.0.3"},
		{[]string{"info", "title"}, "Carelog API"},
		{[]string{"info", "version"}, "1.2.3"},
		{[]string{"components", "securitySchemes", "bearer", "scheme"}, "bearer"},
		// Path conversion and path parameters.
		{[]string{"paths", "/v1/patients/{id}", "get", "summary"}, "Get a patient"},
		{[]string{"paths", "/v1/patients/{id}", "get", "tags", "0"}, "patients"},
		{[]string{"paths", "/v1/patients/{id}", "get", "parameters", "0", "name"}, "id"},
		{[]string{"paths", "/v1/patients/{id}", "get", "parameters", "0", "in"}, "path"},
		{[]string{"paths", "/v1/patients/{id}", "get", "parameters", "0", "required"}, true},
		{[]string{"paths", "/v1/patients/{id}", "get", "responses", "200", "content", "application/json", "schema", "properties", "id", "type"}, "string"},
		{[]string{"paths", "/v1/patients/{id}", "get", "responses", "default", "content", "application/json", "schema", "$ref"}, "#/components/schemas/Error"},
		// Roles.
		{[]string{"paths", "/v1/patients/{id}", "get", "x-roles"}, []any{"nurse", "physician"}},
		{[]string{"paths", "/v1/patients/{id}", "get", "security", "0", "bearer"}, []any{}},
		// Request body and success status.
		{[]string{"paths", "/v1/patients/{id}/time", "post", "requestBody", "required"}, true},
		{[]string{"paths", "/v1/patients/{id}/time", "post", "requestBody", "content", "application/json", "schema", "properties", "minutes", "type"}, "integer"},
		{[]string{"paths", "/v1/patients/{id}/time", "post", "requestBody", "content", "application/json", "schema", "required"}, []any{"minutes", "patientId"}},
		{[]string{"paths", "/v1/patients/{id}/time", "post", "responses", "201", "description"}, "Created"},
		{[]string{"paths", "/v1/patients/{id}/time", "post", "parameters", "0", "name"}, "id"},
		// Query parameters, sorted by name.
		{[]string{"paths", "/v1/patients", "get", "parameters", "0", "name"}, "after"},
		{[]string{"paths", "/v1/patients", "get", "parameters", "0", "in"}, "query"},
		{[]string{"paths", "/v1/patients", "get", "parameters", "0", "description"}, "cursor"},
		{[]string{"paths", "/v1/patients", "get", "parameters", "1", "name"}, "limit"},
		{[]string{"paths", "/healthz", "get", "tags", "0"}, "healthz"},
		{[]string{"paths", "/healthz", "get", "responses", "200", "description"}, "OK"},
	}
	for _, tt := range scalars {
		if got := at(t, doc, tt.path...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", strings.Join(tt.path, "."), got, tt.want)
		}
	}

	absent := []struct {
		path []string
		key  string
	}{
		{[]string{"paths", "/healthz", "get"}, "security"},
		{[]string{"paths", "/healthz", "get"}, "x-roles"},
		{[]string{"paths", "/healthz", "get"}, "requestBody"},
		{[]string{"paths", "/healthz", "get"}, "parameters"},
		{[]string{"paths", "/v1/patients/{id}", "get"}, "requestBody"},
		{[]string{"paths", "/v1/patients/{id}/time", "post", "responses"}, "200"},
		{[]string{"paths"}, "/v1/patients/:id"},
	}
	for _, tt := range absent {
		m := at(t, doc, tt.path...).(map[string]any)
		if _, ok := m[tt.key]; ok {
			t.Errorf("%s: got key %q, want none", strings.Join(tt.path, "."), tt.key)
		}
	}
	if got := len(at(t, doc, "paths").(map[string]any)); got != 4 {
		t.Errorf("paths: got %d, want 4", got)
	}
}

func TestDocumentRefusesDrift(t *testing.T) {
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	tests := []struct {
		name  string
		setup func(e *echo.Echo, s *openapi.Spec)
		want  []string
	}{
		{"route without operation", func(e *echo.Echo, s *openapi.Spec) {
			s.Handle(e, http.MethodGet, "/v1/patients", ok, openapi.Op{Summary: "list"})
			e.DELETE("/v1/patients/:id", ok)
		}, []string{"route without operation: DELETE /v1/patients/:id"}},
		{"operation without route", func(e *echo.Echo, s *openapi.Spec) {
			s.Handle(e, http.MethodGet, "/v1/patients", ok, openapi.Op{Summary: "list"})
			s.Describe(http.MethodGet, "/metrics", openapi.Op{Summary: "metrics"})
		}, []string{"operation without route: GET /metrics"}},
		{"both at once", func(e *echo.Echo, s *openapi.Spec) {
			e.PUT("/v1/careplans/:id", ok)
			s.Describe(http.MethodGet, "/metrics", openapi.Op{Summary: "metrics"})
		}, []string{"route without operation: PUT /v1/careplans/:id", "operation without route: GET /metrics"}},
		{"same path, other method", func(e *echo.Echo, s *openapi.Spec) {
			s.Handle(e, http.MethodGet, "/v1/patients", ok, openapi.Op{Summary: "list"})
			e.POST("/v1/patients", ok)
		}, []string{"route without operation: POST /v1/patients"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			s := openapi.NewSpec()
			tt.setup(e, s)
			doc, err := s.Document("Carelog API", "1", e.Routes())
			if err == nil {
				t.Fatalf("got document %s, want an error", doc)
			}
			if doc != nil {
				t.Errorf("document: got %d bytes, want nil", len(doc))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to name %q", err.Error(), w)
				}
			}
		})
	}
}

func TestDescribeWithRoute(t *testing.T) {
	e := echo.New()
	s := openapi.NewSpec()
	e.GET("/metrics", echo.WrapHandler(http.NotFoundHandler()))
	s.Describe(http.MethodGet, "/metrics", openapi.Op{Summary: "Prometheus metrics", Tag: "operations"})
	// A group with middleware adds echo's own not-found routes, which need no
	// operation.
	g := e.Group("/v1", func(next echo.HandlerFunc) echo.HandlerFunc { return next })
	s.Handle(g, http.MethodGet, "/ping", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, openapi.Op{Summary: "ping"})

	doc := document(t, e, s)
	if got := at(t, doc, "paths", "/metrics", "get", "tags", "0"); got != "operations" {
		t.Errorf("tag: got %v, want operations", got)
	}
	if got := at(t, doc, "paths", "/v1/ping", "get", "summary"); got != "ping" {
		t.Errorf("summary: got %v, want ping", got)
	}
}

func TestSchema(t *testing.T) {
	s := openapi.Schema(carePlan{})
	tests := []struct {
		path []string
		want any
	}{
		{[]string{"type"}, "object"},
		{[]string{"required"}, []string{"-", "Kind", "NoTag", "active", "createdAt", "createdBy", "goals", "id", "owner", "version"}},
		{[]string{"properties", "id"}, map[string]any{"type": "string"}},
		{[]string{"properties", "version"}, map[string]any{"type": "integer"}},
		{[]string{"properties", "score"}, map[string]any{"type": "number"}},
		{[]string{"properties", "active"}, map[string]any{"type": "boolean"}},
		{[]string{"properties", "note"}, map[string]any{"type": "string", "nullable": true}},
		{[]string{"properties", "due"}, map[string]any{"type": "string", "format": "date-time", "nullable": true}},
		{[]string{"properties", "reviewed"}, map[string]any{"type": "string", "format": "date-time"}},
		// Embedded struct fields are flattened.
		{[]string{"properties", "createdAt"}, map[string]any{"type": "string", "format": "date-time"}},
		{[]string{"properties", "createdBy"}, map[string]any{"type": "string"}},
		{[]string{"properties", "tags"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}},
		{[]string{"properties", "goals", "type"}, "array"},
		{[]string{"properties", "goals", "items", "type"}, "object"},
		{[]string{"properties", "goals", "items", "required"}, []string{"title"}},
		{[]string{"properties", "goals", "items", "properties", "target"}, map[string]any{"type": "integer", "nullable": true}},
		{[]string{"properties", "owner", "type"}, "object"},
		{[]string{"properties", "owner", "properties", "title"}, map[string]any{"type": "string"}},
		{[]string{"properties", "labels"}, map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}},
		{[]string{"properties", "raw"}, map[string]any{}},
		// encoding/json names a `json:"-,"` field "-" and an untagged one by its Go name.
		{[]string{"properties", "-"}, map[string]any{"type": "string"}},
		{[]string{"properties", "NoTag"}, map[string]any{"type": "string"}},
		{[]string{"properties", "Kind"}, map[string]any{"type": "string"}},
	}
	for _, tt := range tests {
		if got := at(t, s, tt.path...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", strings.Join(tt.path, "."), got, tt.want)
		}
	}
	props := s["properties"].(map[string]any)
	for _, k := range []string{"Secret", "secret", "internal", "audit"} {
		if _, ok := props[k]; ok {
			t.Errorf("properties: got %q, want it omitted", k)
		}
	}
	// Every property is one that encoding/json produces.
	raw, err := json.Marshal(carePlan{})
	if err != nil {
		t.Fatalf("json.Marshal: got %v, want nil", err)
	}
	var encoded map[string]any
	if err := json.Unmarshal(raw, &encoded); err != nil {
		t.Fatalf("json.Unmarshal: got %v, want nil", err)
	}
	for k := range encoded {
		if _, ok := props[k]; !ok {
			t.Errorf("properties: got no %q, want every key encoding/json writes (%s)", k, raw)
		}
	}
}

func TestSchemaScalars(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want map[string]any
	}{
		{"string", "", map[string]any{"type": "string"}},
		{"int", 0, map[string]any{"type": "integer"}},
		{"uint8", uint8(0), map[string]any{"type": "integer"}},
		{"float32", float32(0), map[string]any{"type": "number"}},
		{"bool", false, map[string]any{"type": "boolean"}},
		{"time", time.Time{}, map[string]any{"type": "string", "format": "date-time"}},
		{"slice of time", []time.Time{}, map[string]any{"type": "array", "items": map[string]any{"type": "string", "format": "date-time"}}},
		{"pointer", new(int), map[string]any{"type": "integer", "nullable": true}},
		{"empty struct", struct{}{}, map[string]any{"type": "object", "properties": map[string]any{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := openapi.Schema(tt.v); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestSpecConcurrentUse(t *testing.T) {
	e := echo.New()
	s := openapi.NewSpec()
	paths := []string{"/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h"}
	for _, p := range paths {
		e.GET(p, func(c echo.Context) error { return nil })
	}
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() { s.Describe(http.MethodGet, p, openapi.Op{Summary: p}) })
		wg.Go(func() { _, _ = s.Document("t", "1", e.Routes()) })
	}
	wg.Wait()
	doc := document(t, e, s)
	if got := len(at(t, doc, "paths").(map[string]any)); got != len(paths) {
		t.Errorf("paths: got %d, want %d", got, len(paths))
	}
}
