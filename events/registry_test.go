package events_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/carelog/carelog/events"
)

// A test-only type with two versions, proving the upcasting mechanism that
// the real catalogue will use: v1 had a free-text size, v2 splits it into a
// label and a number of minutes.
const testSized events.Type = "test.sized"

type sizedV1 struct {
	Size string `json:"size"` // "20 min"
}

type sizedV2 struct {
	Label   string `json:"label"`
	Minutes int    `json:"minutes"`
}

type sizedV3 struct {
	Label   string `json:"label"`
	Minutes int    `json:"minutes"`
	Unit    string `json:"unit"`
}

// upSized1 is a pure upcaster v1 → v2.
func upSized1(e events.Envelope) (events.Envelope, error) {
	var v1 sizedV1
	if err := json.Unmarshal(e.Data, &v1); err != nil {
		return e, err
	}
	v2 := sizedV2{Label: v1.Size}
	if n, ok := strings.CutSuffix(v1.Size, " min"); ok {
		for _, c := range n {
			if c < '0' || c > '9' {
				return e, errors.New("size is not a number of minutes")
			}
			v2.Minutes = v2.Minutes*10 + int(c-'0')
		}
	}
	b, err := json.Marshal(v2)
	if err != nil {
		return e, err
	}
	e.Data = b
	return e, nil
}

// upSized2 is a pure upcaster v2 → v3 that, carelessly, returns a fresh
// envelope with only the payload: Upcast must still keep the identity.
func upSized2(e events.Envelope) (events.Envelope, error) {
	var v2 sizedV2
	if err := json.Unmarshal(e.Data, &v2); err != nil {
		return e, err
	}
	b, err := json.Marshal(sizedV3{Label: v2.Label, Minutes: v2.Minutes, Unit: "min"})
	return events.Envelope{Data: b}, err
}

func sizedSchema(v int) events.Schema {
	news := map[int]func() any{
		1: func() any { return new(sizedV1) },
		2: func() any { return new(sizedV2) },
		3: func() any { return new(sizedV3) },
	}
	return events.Schema{Type: testSized, Version: v, New: news[v], Doc: "test"}
}

func sizedEnvelope(t *testing.T, v int, data string) events.Envelope {
	t.Helper()
	e := testEnvelope("e-sized")
	e.Type, e.Version, e.Data = testSized, v, json.RawMessage(data)
	return sealed(t, e, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0")
}

func TestNewRegistryRefuses(t *testing.T) {
	up12 := events.Upcaster{Type: testSized, From: 1, Up: upSized1}
	up23 := events.Upcaster{Type: testSized, From: 2, Up: upSized2}
	tests := []struct {
		name      string
		schemas   []events.Schema
		upcasters []events.Upcaster
		want      string // "" means accepted; else a part of the error
	}{
		{name: "one version", schemas: []events.Schema{sizedSchema(1)}},
		{name: "two versions with upcaster", schemas: []events.Schema{sizedSchema(1), sizedSchema(2)}, upcasters: []events.Upcaster{up12}},
		{name: "three versions, any order", schemas: []events.Schema{sizedSchema(3), sizedSchema(1), sizedSchema(2)}, upcasters: []events.Upcaster{up23, up12}},
		{name: "duplicate schema", schemas: []events.Schema{sizedSchema(1), sizedSchema(1)}, want: "registered twice"},
		{name: "version gap", schemas: []events.Schema{sizedSchema(1), sizedSchema(3)}, want: "to v2"}, // v1 cannot reach v3
		{name: "only a later version", schemas: []events.Schema{sizedSchema(2)}, want: "has v2 but no v1"},
		{name: "missing upcaster", schemas: []events.Schema{sizedSchema(1), sizedSchema(2)}, want: "v1 has no upcaster to v2"},
		{name: "missing second upcaster", schemas: []events.Schema{sizedSchema(1), sizedSchema(2), sizedSchema(3)}, upcasters: []events.Upcaster{up12}, want: "v2 has no upcaster to v3"},
		{name: "duplicate upcaster", schemas: []events.Schema{sizedSchema(1), sizedSchema(2)}, upcasters: []events.Upcaster{up12, up12}, want: "two upcasters"},
		{name: "upcaster without function", schemas: []events.Schema{sizedSchema(1), sizedSchema(2)}, upcasters: []events.Upcaster{{Type: testSized, From: 1}}, want: "no Up function"},
		{name: "upcaster from unregistered", schemas: []events.Schema{sizedSchema(1)}, upcasters: []events.Upcaster{up23}, want: "upcaster from unregistered"},
		{name: "upcaster to unregistered", schemas: []events.Schema{sizedSchema(1)}, upcasters: []events.Upcaster{up12}, want: "upcaster to unregistered"},
		{name: "version zero", schemas: []events.Schema{{Type: testSized, Version: 0, New: func() any { return new(sizedV1) }}}, want: "version >= 1"},
		{name: "empty type", schemas: []events.Schema{{Version: 1, New: func() any { return new(sizedV1) }}}, want: "type, version"},
		{name: "nil New", schemas: []events.Schema{{Type: testSized, Version: 1}}, want: "New are required"},
		{name: "New returns a value", schemas: []events.Schema{{Type: testSized, Version: 1, New: func() any { return sizedV1{} }}}, want: "pointer to a struct"},
		{name: "New returns nil", schemas: []events.Schema{{Type: testSized, Version: 1, New: func() any { return (*sizedV1)(nil) }}}, want: "pointer to a struct"},
		{name: "New returns a pointer to a map", schemas: []events.Schema{{Type: testSized, Version: 1, New: func() any { return new(map[string]any) }}}, want: "pointer to a struct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := events.NewRegistry(tt.schemas, tt.upcasters)
			if tt.want == "" {
				if err != nil || r == nil {
					t.Fatalf("NewRegistry: got %v, want a registry", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewRegistry: got %v, want an error containing %q", err, tt.want)
			}
			if r != nil {
				t.Errorf("NewRegistry: got a registry with the error, want nil")
			}
		})
	}
}

func sizedRegistry(t *testing.T, versions int) *events.Registry {
	t.Helper()
	schemas := []events.Schema{sizedSchema(1), sizedSchema(2), sizedSchema(3)}[:versions]
	ups := []events.Upcaster{{Type: testSized, From: 1, Up: upSized1}, {Type: testSized, From: 2, Up: upSized2}}[:versions-1]
	r, err := events.NewRegistry(schemas, ups)
	if err != nil {
		t.Fatalf("NewRegistry: got %v, want nil", err)
	}
	return r
}

func TestRegistryUpcastsOnDecode(t *testing.T) {
	r := sizedRegistry(t, 2)
	// A v1 event as stored, read back from its wire form and verified first.
	stored := sizedEnvelope(t, 1, `{"size":"20 min"}`)
	read := roundTrip(t, stored)
	if err := read.Verify(); err != nil {
		t.Fatalf("Verify of the stored v1 event: got %v, want nil", err)
	}

	p, err := r.Decode(read)
	if err != nil {
		t.Fatalf("Decode v1: got %v, want nil", err)
	}
	got, ok := p.(*sizedV2)
	if !ok {
		t.Fatalf("Decode v1: got %T, want *sizedV2", p)
	}
	if want := (sizedV2{Label: "20 min", Minutes: 20}); *got != want {
		t.Errorf("Decode v1: got %+v, want %+v", *got, want)
	}

	up, err := r.Upcast(read)
	if err != nil {
		t.Fatalf("Upcast: got %v, want nil", err)
	}
	if up.Version != 2 || up.Type != testSized {
		t.Errorf("Upcast: got %s v%d, want %s v2", up.Type, up.Version, testSized)
	}
	if up.Hash != stored.Hash || up.PrevHash != stored.PrevHash || up.ID != stored.ID {
		t.Errorf("Upcast identity: got id %s hash %s prev %s, want %s %s %s", up.ID, up.Hash, up.PrevHash, stored.ID, stored.Hash, stored.PrevHash)
	}
	if want := `{"label":"20 min","minutes":20}`; string(up.Data) != want {
		t.Errorf("Upcast data: got %s, want %s", up.Data, want)
	}
	// The hash covers the stored bytes, not the upcast ones: chains are
	// verified before upcasting.
	if err := up.Verify(); !errors.Is(err, events.ErrTampered) {
		t.Errorf("Verify of the upcast envelope: got %v, want ErrTampered", err)
	}
	if err := read.Verify(); err != nil {
		t.Errorf("Verify of the original after Upcast: got %v, want nil (Upcast must not change its input)", err)
	}

	// A current-version event decodes without upcasting.
	p, err = r.Decode(sizedEnvelope(t, 2, `{"label":"half hour","minutes":30}`))
	if err != nil {
		t.Fatalf("Decode v2: got %v, want nil", err)
	}
	if want := (sizedV2{Label: "half hour", Minutes: 30}); *p.(*sizedV2) != want {
		t.Errorf("Decode v2: got %+v, want %+v", *p.(*sizedV2), want)
	}
}

func TestRegistryUpcastsThroughSeveralVersions(t *testing.T) {
	r := sizedRegistry(t, 3)
	stored := sizedEnvelope(t, 1, `{"size":"45 min"}`)
	up, err := r.Upcast(stored)
	if err != nil {
		t.Fatalf("Upcast: got %v, want nil", err)
	}
	// upSized2 returned an envelope with only Data set.
	if up.Version != 3 || up.Type != testSized || up.Hash != stored.Hash || up.PrevHash != stored.PrevHash {
		t.Errorf("Upcast: got %s v%d hash %s prev %s, want %s v3 hash %s prev %s",
			up.Type, up.Version, up.Hash, up.PrevHash, testSized, stored.Hash, stored.PrevHash)
	}
	p, err := r.Decode(stored)
	if err != nil {
		t.Fatalf("Decode: got %v, want nil", err)
	}
	if want := (sizedV3{Label: "45 min", Minutes: 45, Unit: "min"}); *p.(*sizedV3) != want {
		t.Errorf("Decode: got %+v, want %+v", *p.(*sizedV3), want)
	}
	if r.Latest(testSized) != 3 {
		t.Errorf("Latest: got %d, want 3", r.Latest(testSized))
	}
}

func TestRegistryUpcasterError(t *testing.T) {
	r := sizedRegistry(t, 2)
	_, err := r.Decode(sizedEnvelope(t, 1, `{"size":"2x min"}`))
	if err == nil || !strings.Contains(err.Error(), "test.sized v1") {
		t.Errorf("Decode with a failing upcaster: got %v, want an error naming test.sized v1", err)
	}
}

func TestRegistryUnknownType(t *testing.T) {
	r := sizedRegistry(t, 2)
	unknown := sizedEnvelope(t, 1, `{}`)
	unknown.Type = "test.unknown"
	tooNew := sizedEnvelope(t, 3, `{}`)
	for _, e := range []events.Envelope{unknown, tooNew} {
		if _, err := r.Decode(e); !errors.Is(err, events.ErrUnknownType) {
			t.Errorf("Decode(%s v%d): got %v, want ErrUnknownType", e.Type, e.Version, err)
		}
		if _, err := r.Upcast(e); !errors.Is(err, events.ErrUnknownType) {
			t.Errorf("Upcast(%s v%d): got %v, want ErrUnknownType", e.Type, e.Version, err)
		}
	}
	if _, err := r.New("test.unknown", &sizedV2{}); !errors.Is(err, events.ErrUnknownType) {
		t.Errorf("New(test.unknown): got %v, want ErrUnknownType", err)
	}
	if r.Known("test.unknown", 1) || r.Known(testSized, 3) || !r.Known(testSized, 1) {
		t.Errorf("Known: got %v %v %v, want false false true", r.Known("test.unknown", 1), r.Known(testSized, 3), r.Known(testSized, 1))
	}
	if got := r.Latest("test.unknown"); got != 0 {
		t.Errorf("Latest(test.unknown): got %d, want 0", got)
	}
	if _, ok := r.Payload("test.unknown", 1); ok {
		t.Errorf("Payload(test.unknown): got ok, want not ok")
	}
}

func TestRegistryDecodeInvalidData(t *testing.T) {
	r := sizedRegistry(t, 2)
	_, err := r.Decode(sizedEnvelope(t, 2, `{"minutes":"thirty"}`))
	if !errors.Is(err, events.ErrInvalid) {
		t.Errorf("Decode of mistyped data: got %v, want ErrInvalid", err)
	}
}

func TestRegistryNew(t *testing.T) {
	r := sizedRegistry(t, 2)
	for _, payload := range []any{&sizedV2{Label: "x", Minutes: 3}, sizedV2{Label: "x", Minutes: 3}} {
		e, err := r.New(testSized, payload)
		if err != nil {
			t.Fatalf("New(%T): got %v, want nil", payload, err)
		}
		if e.Type != testSized || e.Version != 2 || string(e.Data) != `{"label":"x","minutes":3}` {
			t.Errorf("New(%T): got %s v%d %s, want %s v2 {\"label\":\"x\",\"minutes\":3}", payload, e.Type, e.Version, e.Data, testSized)
		}
	}
	for _, payload := range []any{&sizedV1{Size: "x"}, sizedV1{}, &sizedV3{}, map[string]any{"label": "x"}, nil, "x"} {
		if _, err := r.New(testSized, payload); err == nil {
			t.Errorf("New(%T): got nil error, want a refusal of the wrong payload type", payload)
		}
	}
}

func TestRegistrySchemasAndPayload(t *testing.T) {
	r := sizedRegistry(t, 3)
	var got []int
	for _, s := range r.Schemas() {
		got = append(got, s.Version)
	}
	if want := []int{1, 2, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("Schemas versions: got %v, want %v", got, want)
	}
	typ, ok := r.Payload(testSized, 2)
	if !ok || typ != reflect.TypeOf(sizedV2{}) {
		t.Errorf("Payload(test.sized, 2): got %v %v, want sizedV2 true", typ, ok)
	}
}
