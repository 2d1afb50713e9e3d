package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
)

// Schema describes one (type, version) pair: the payload struct it decodes
// into and a one-line description for documentation.
type Schema struct {
	Type    Type
	Version int
	// New returns a pointer to a zero payload value.
	New func() any
	Doc string
}

// Upcaster lifts an envelope's payload from version From to From+1. It is
// pure: it returns a new envelope and never fails on a well-formed input of
// its version. Stored events are never rewritten; upcasting happens on read.
type Upcaster struct {
	Type Type
	From int
	Up   func(Envelope) (Envelope, error)
}

// ErrUnknownType is wrapped when a registry has no schema for an event.
var ErrUnknownType = errors.New("unknown event type or version")

type key struct {
	t Type
	v int
}

// Registry is the explicit map of (type, version) to payload schema, built
// once at start-up and read-only afterwards (safe for concurrent use).
type Registry struct {
	schemas   map[key]Schema
	latest    map[Type]int
	upcasters map[key]Upcaster
}

// NewRegistry builds a registry. It refuses duplicate schemas, schemas whose
// New does not return a non-nil pointer to a struct, duplicate upcasters,
// upcasters without both ends registered (or without a function), and gaps
// between a type's versions.
func NewRegistry(schemas []Schema, upcasters []Upcaster) (*Registry, error) {
	r := &Registry{schemas: map[key]Schema{}, latest: map[Type]int{}, upcasters: map[key]Upcaster{}}
	for _, s := range schemas {
		k := key{s.Type, s.Version}
		if _, dup := r.schemas[k]; dup {
			return nil, fmt.Errorf("events.NewRegistry: %s v%d registered twice", s.Type, s.Version)
		}
		if s.New == nil || s.Version < 1 || s.Type == "" {
			return nil, fmt.Errorf("events.NewRegistry: %s v%d: type, version >= 1 and New are required", s.Type, s.Version)
		}
		// Decode, New and Payload rely on New returning a pointer to a struct.
		if p := reflect.ValueOf(s.New()); p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("events.NewRegistry: %s v%d: New must return a non-nil pointer to a struct, got %T", s.Type, s.Version, s.New())
		}
		r.schemas[k] = s
		if s.Version > r.latest[s.Type] {
			r.latest[s.Type] = s.Version
		}
	}
	for _, u := range upcasters {
		if _, dup := r.upcasters[key{u.Type, u.From}]; dup {
			return nil, fmt.Errorf("events.NewRegistry: two upcasters from %s v%d", u.Type, u.From)
		}
		if u.Up == nil {
			return nil, fmt.Errorf("events.NewRegistry: upcaster from %s v%d has no Up function", u.Type, u.From)
		}
		if _, ok := r.schemas[key{u.Type, u.From}]; !ok {
			return nil, fmt.Errorf("events.NewRegistry: upcaster from unregistered %s v%d", u.Type, u.From)
		}
		if _, ok := r.schemas[key{u.Type, u.From + 1}]; !ok {
			return nil, fmt.Errorf("events.NewRegistry: upcaster to unregistered %s v%d", u.Type, u.From+1)
		}
		r.upcasters[key{u.Type, u.From}] = u
	}
	for t, latest := range r.latest {
		for v := 1; v < latest; v++ {
			if _, ok := r.schemas[key{t, v}]; !ok {
				return nil, fmt.Errorf("events.NewRegistry: %s has v%d but no v%d", t, latest, v)
			}
			if _, ok := r.upcasters[key{t, v}]; !ok {
				return nil, fmt.Errorf("events.NewRegistry: %s v%d has no upcaster to v%d", t, v, v+1)
			}
		}
	}
	return r, nil
}

// Known reports whether (t, v) is registered.
func (r *Registry) Known(t Type, v int) bool {
	_, ok := r.schemas[key{t, v}]
	return ok
}

// Latest returns the newest registered version of t, or 0.
func (r *Registry) Latest(t Type) int { return r.latest[t] }

// Schemas lists every registered schema sorted by type then version.
func (r *Registry) Schemas() []Schema {
	out := make([]Schema, 0, len(r.schemas))
	for _, s := range r.schemas {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// Upcast lifts e to the latest registered version of its type. The returned
// envelope keeps the original Type, Hash and PrevHash whatever the upcasters
// return: those cover the stored bytes, so chain verification must run
// before upcasting.
func (r *Registry) Upcast(e Envelope) (Envelope, error) {
	if !r.Known(e.Type, e.Version) {
		return e, fmt.Errorf("%w: %s v%d", ErrUnknownType, e.Type, e.Version)
	}
	for e.Version < r.latest[e.Type] {
		u := r.upcasters[key{e.Type, e.Version}]
		next, err := u.Up(e)
		if err != nil {
			return e, fmt.Errorf("events.Upcast %s v%d: %w", e.Type, e.Version, err)
		}
		next.Type, next.Version = e.Type, e.Version+1
		next.Hash, next.PrevHash = e.Hash, e.PrevHash
		e = next
	}
	return e, nil
}

// Decode upcasts e to its latest version and unmarshals the payload into the
// registered struct, returned as a pointer (for example *ConsentGranted).
func (r *Registry) Decode(e Envelope) (any, error) {
	e, err := r.Upcast(e)
	if err != nil {
		return nil, err
	}
	p := r.schemas[key{e.Type, e.Version}].New()
	if err := json.Unmarshal(e.Data, p); err != nil {
		return nil, fmt.Errorf("%w: %s v%d data: %v", ErrInvalid, e.Type, e.Version, err)
	}
	return p, nil
}

// Payload returns the registered payload struct type of (t, v), for
// documentation and schema generation.
func (r *Registry) Payload(t Type, v int) (reflect.Type, bool) {
	s, ok := r.schemas[key{t, v}]
	if !ok {
		return nil, false
	}
	return reflect.TypeOf(s.New()).Elem(), true
}

// New builds an unsealed envelope of the latest version of t with the given
// payload marshalled as Data.
func (r *Registry) New(t Type, payload any) (Envelope, error) {
	v := r.latest[t]
	if v == 0 {
		return Envelope{}, fmt.Errorf("%w: %s", ErrUnknownType, t)
	}
	if got := reflect.TypeOf(payload); got != reflect.TypeOf(r.schemas[key{t, v}].New()) && got != reflect.TypeOf(r.schemas[key{t, v}].New()).Elem() {
		return Envelope{}, fmt.Errorf("events.New %s v%d: payload is %v", t, v, got)
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("events.New %s: %w", t, err)
	}
	return Envelope{Type: t, Version: v, Data: data}, nil
}
