// Package openapi generates the OpenAPI 3 document served at /openapi.json
// from the routes themselves: every route is registered through Handle,
// which mounts it on echo and records its operation, and Document refuses to
// produce a document while any mounted route lacks a description. The
// document can therefore not drift from the code (api/contract.md: "generated
// from or checked against the code, never hand-kept beside it").
package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Op describes one operation.
type Op struct {
	Summary string
	// Roles allowed to call it; empty means no authentication (operations).
	Roles []string
	// Request is a zero value of the JSON body type, or nil.
	Request any
	// Response is a zero value of the success body type, or nil.
	Response any
	// Status is the success status (default 200).
	Status int
	// Query lists query parameters: name → description.
	Query map[string]string
	// Tag groups operations (default: the path's second segment).
	Tag string
}

// Spec collects operations. Safe for concurrent use.
type Spec struct {
	mu  sync.Mutex
	ops map[string]Op // "METHOD path" (echo form, :param)
}

// NewSpec returns an empty spec.
func NewSpec() *Spec { return &Spec{ops: map[string]Op{}} }

// Router is what Handle mounts on: *echo.Echo and *echo.Group both fit.
type Router interface {
	Add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

// Handle mounts h on r and records op under the route's full path.
func (s *Spec) Handle(r Router, method, path string, h echo.HandlerFunc, op Op, m ...echo.MiddlewareFunc) {
	route := r.Add(method, path, h, m...)
	s.mu.Lock()
	s.ops[method+" "+route.Path] = op
	s.mu.Unlock()
}

// Describe records op for a route mounted elsewhere (e.g. /metrics).
func (s *Spec) Describe(method, path string, op Op) {
	s.mu.Lock()
	s.ops[method+" "+path] = op
	s.mu.Unlock()
}

// Document builds the OpenAPI 3.0 document for the mounted routes. It fails
// listing every route without an operation and every operation without a
// route.
func (s *Spec) Document(title, version string, routes []*echo.Route) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	paths := map[string]map[string]any{}
	seen := map[string]bool{}
	var missing []string
	for _, r := range routes {
		if r.Method == echo.RouteNotFound || strings.HasSuffix(r.Name, "glob..func1") {
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			continue
		}
		seen[key] = true
		op, ok := s.ops[key]
		if !ok {
			missing = append(missing, "route without operation: "+key)
			continue
		}
		p := oaPath(r.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(r.Method)] = operation(r.Path, op)
	}
	for key := range s.ops {
		if !seen[key] {
			missing = append(missing, "operation without route: "+key)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("openapi: %s", strings.Join(missing, "; "))
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": title, "version": version},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": map[string]any{
				"type": "object", "required": []string{"error"},
				"properties": map[string]any{"error": map[string]any{
					"type": "object", "required": []string{"code", "message"},
					"properties": map[string]any{
						"code":    map[string]any{"type": "string", "enum": []string{"invalid", "not_found", "conflict", "unauthorized", "forbidden", "unavailable", "internal"}},
						"message": map[string]any{"type": "string"},
						"field":   map[string]any{"type": "string"},
					},
				}},
			}},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func oaPath(echoPath string) string {
	parts := strings.Split(echoPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func operation(path string, op Op) map[string]any {
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	tag := op.Tag
	if tag == "" {
		segs := strings.Split(strings.Trim(path, "/"), "/")
		tag = segs[0]
		if len(segs) > 1 && segs[0] == "v1" {
			tag = segs[1]
		}
	}
	out := map[string]any{"summary": op.Summary, "tags": []string{tag}}
	var params []any
	for _, p := range strings.Split(path, "/") {
		if strings.HasPrefix(p, ":") {
			params = append(params, map[string]any{"name": p[1:], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	qnames := make([]string, 0, len(op.Query))
	for q := range op.Query {
		qnames = append(qnames, q)
	}
	sort.Strings(qnames)
	for _, q := range qnames {
		params = append(params, map[string]any{"name": q, "in": "query", "description": op.Query[q], "schema": map[string]any{"type": "string"}})
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if op.Request != nil {
		out["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": Schema(op.Request)}}}
	}
	resp := map[string]any{"description": http.StatusText(status)}
	if op.Response != nil {
		resp["content"] = map[string]any{"application/json": map[string]any{"schema": Schema(op.Response)}}
	}
	errRef := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	out["responses"] = map[string]any{fmt.Sprint(status): resp, "default": errRef}
	if len(op.Roles) > 0 {
		out["security"] = []any{map[string]any{"bearer": []string{}}}
		out["x-roles"] = op.Roles
	}
	return out
}

var timeType = reflect.TypeOf(time.Time{})
var rawType = reflect.TypeOf(json.RawMessage(nil))

// Schema returns a JSON Schema (OpenAPI 3.0 dialect) for v's type, from its
// json tags: fields without omitempty/omitzero are required.
func Schema(v any) map[string]any { return schemaOf(reflect.TypeOf(v), 0) }

func schemaOf(t reflect.Type, depth int) map[string]any {
	if depth > 12 {
		return map[string]any{}
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaOf(t.Elem(), depth+1)
		s["nullable"] = true
		return s
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), depth+1)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), depth+1)}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			// encoding/json's rules: fields of embedded structs are promoted
			// even when the embedded type is unexported; only `json:"-"`
			// (not `json:"-,"`) omits a field.
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !f.IsExported() && !(f.Anonymous && ft.Kind() == reflect.Struct) {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				inner := schemaOf(f.Type, depth+1)
				if p, ok := inner["properties"].(map[string]any); ok {
					for k, v := range p {
						props[k] = v
					}
				}
				if r, ok := inner["required"].([]string); ok {
					required = append(required, r...)
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = schemaOf(f.Type, depth+1)
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			sort.Strings(required)
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}
