package events_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
)

var (
	chicago = time.FixedZone("CDT", -5*3600)
	kolkata = time.FixedZone("IST", 5*3600+30*60)
)

// testEnvelope returns a valid, unsealed envelope with every field set.
func testEnvelope(id string) events.Envelope {
	return events.Envelope{
		ID:            id,
		Type:          events.TypeTimeRecorded,
		Version:       1,
		Stream:        events.PatientStream("p-1"),
		PatientID:     "p-1",
		OccurredAt:    time.Date(2025, 3, 14, 10, 5, 0, 0, chicago),
		RecordedAt:    time.Date(2025, 3, 14, 10, 21, 7, 123456789, chicago),
		Actor:         events.Actor{ID: "rn-4", Role: "clinician", App: "nurse-app"},
		CorrelationID: "req-7f3a",
		CausationID:   "cmd-19",
		Data:          json.RawMessage(`{"id":"te-1","minutes":20,"notes":"Reviewed home BP log"}`),
	}
}

func sealed(t *testing.T, e events.Envelope, prev string) events.Envelope {
	t.Helper()
	if err := e.Seal(prev); err != nil {
		t.Fatalf("Seal: got %v, want nil", err)
	}
	return e
}

func roundTrip(t *testing.T, e events.Envelope) events.Envelope {
	t.Helper()
	b, err := e.Encode()
	if err != nil {
		t.Fatalf("Encode: got %v, want nil", err)
	}
	d, err := events.Decode(b)
	if err != nil {
		t.Fatalf("Decode(%s): got %v, want nil", b, err)
	}
	return d
}

func TestSealEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		wantData string // compact form Seal stores; "" means data unchanged
	}{
		{name: "plain", data: `{"minutes":20}`},
		{name: "html characters", data: `{"notes":"BP <140/90> & HbA1c < 8"}`},
		{name: "escaped html characters", data: `{"notes":"\u003cb\u003e \u0026"}`},
		{name: "unicode", data: `{"notes":"Señora Núñez – 血圧 ✓ 👍","name":"Zoë"}`},
		{name: "line and paragraph separators", data: "{\"notes\":\"a\u2028b\u2029c\"}"},
		{name: "escapes", data: `{"notes":"tab\tquote\" backslash\\ nl\n \u00e9"}`},
		{name: "whitespace", data: "{ \"minutes\" : 20 ,\n\t\"programs\" : [ \"ccm\" , \"pcm\" ] }\n",
			wantData: `{"minutes":20,"programs":["ccm","pcm"]}`},
		{name: "nested and numbers", data: `{"a":{"b":[1,2.50,-3e2,null,true]},"c":12345678901234567890}`},
		{name: "not an object", data: `["ccm"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEnvelope("e-1")
			e.Data = json.RawMessage(tt.data)
			e = sealed(t, e, "")
			want := tt.wantData
			if want == "" {
				want = tt.data
			}
			if string(e.Data) != want {
				t.Errorf("sealed data: got %s, want %s", e.Data, want)
			}
			d := roundTrip(t, e)
			if err := d.Verify(); err != nil {
				t.Fatalf("Verify after round trip: got %v, want nil", err)
			}
			if string(d.Data) != string(e.Data) {
				t.Errorf("data after round trip: got %s, want %s", d.Data, e.Data)
			}
			if d.Hash != e.Hash || d.ComputeHash() != e.Hash {
				t.Errorf("hash after round trip: got %s (computed %s), want %s", d.Hash, d.ComputeHash(), e.Hash)
			}
			if !equalEnvelopes(d, e) {
				t.Errorf("round trip: got %+v, want %+v", d, e)
			}
		})
	}
}

// equalEnvelopes compares envelopes field by field, times by instant.
func equalEnvelopes(a, b events.Envelope) bool {
	ta, tb := a, b
	ta.OccurredAt, ta.RecordedAt, tb.OccurredAt, tb.RecordedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	ta.Data, tb.Data = nil, nil
	return reflect.DeepEqual(ta, tb) && string(a.Data) == string(b.Data) &&
		a.OccurredAt.Equal(b.OccurredAt) && a.RecordedAt.Equal(b.RecordedAt)
}

func TestEncodeKeepsHTMLUnescaped(t *testing.T) {
	e := testEnvelope("e-1")
	e.Data = json.RawMessage(`{"notes":"<a&b>"}`)
	e.Actor.App = "app<1>&2"
	e = sealed(t, e, "")
	b, err := e.Encode()
	if err != nil {
		t.Fatalf("Encode: got %v, want nil", err)
	}
	for _, want := range []string{`"data":{"notes":"<a&b>"}`, `"app":"app<1>&2"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Encode: got %s, want it to contain %s", b, want)
		}
	}
	if strings.HasSuffix(string(b), "\n") {
		t.Errorf("Encode: got a trailing newline, want none")
	}
}

func TestTimesWithOffsetsVerify(t *testing.T) {
	monrovia := time.FixedZone("LMT", -(44*60 + 30)) // Liberia until 1972: offset with seconds
	tests := []struct {
		name       string
		occurredAt time.Time
	}{
		{"UTC", time.Date(2025, 3, 31, 23, 59, 59, 0, time.UTC)},
		{"negative offset", time.Date(2025, 3, 31, 23, 59, 59, 999999999, chicago)},
		{"half-hour offset", time.Date(2025, 4, 1, 5, 29, 0, 1, kolkata)},
		{"nanoseconds", time.Date(2025, 3, 1, 0, 0, 0, 100, time.FixedZone("", 14*3600))},
		{"offset with seconds", time.Date(1971, 6, 1, 9, 0, 0, 0, monrovia)},
		{"local", time.Date(2025, 3, 9, 2, 30, 0, 0, time.Local)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEnvelope("e-1")
			e.OccurredAt = tt.occurredAt
			e = sealed(t, e, "")
			if !e.OccurredAt.Equal(tt.occurredAt) {
				t.Errorf("sealed occurredAt: got %v, want the instant %v", e.OccurredAt, tt.occurredAt)
			}
			d := roundTrip(t, e)
			if err := d.Verify(); err != nil {
				t.Fatalf("Verify after round trip: got %v, want nil", err)
			}
			if !d.OccurredAt.Equal(tt.occurredAt) {
				t.Errorf("occurredAt after round trip: got %v, want %v", d.OccurredAt, tt.occurredAt)
			}
		})
	}
}

func TestHashIgnoresTimeZoneOfSameInstant(t *testing.T) {
	e := sealed(t, testEnvelope("e-1"), "")
	e.OccurredAt = e.OccurredAt.In(kolkata)
	e.RecordedAt = e.RecordedAt.UTC()
	if err := e.Verify(); err != nil {
		t.Errorf("Verify after changing only the zone: got %v, want nil", err)
	}
}

func TestSealRefusesInvalidAndIsDeterministic(t *testing.T) {
	e := testEnvelope("e-1")
	e.Data = json.RawMessage(`{"minutes":`)
	if err := e.Seal(""); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("Seal of invalid data: got %v, want ErrInvalid", err)
	}
	if e.Hash != "" {
		t.Errorf("Hash after refused Seal: got %q, want empty", e.Hash)
	}
	a := sealed(t, testEnvelope("e-1"), "abc")
	b := sealed(t, testEnvelope("e-1"), "abc")
	if a.Hash != b.Hash || len(a.Hash) != 64 {
		t.Errorf("hash of identical envelopes: got %s and %s, want equal 64-hex", a.Hash, b.Hash)
	}
	if a.PrevHash != "abc" {
		t.Errorf("PrevHash: got %q, want %q", a.PrevHash, "abc")
	}
	c := sealed(t, testEnvelope("e-1"), "abd")
	if c.Hash == a.Hash {
		t.Errorf("hash with another prevHash: got %s, want a different hash", c.Hash)
	}
}

// fieldMutations returns, for every leaf field of Envelope (found by
// reflection, so a new field cannot be forgotten), a function that changes
// it.
func fieldMutations(t *testing.T) map[string]func(*events.Envelope) {
	t.Helper()
	out := map[string]func(*events.Envelope){}
	var walk func(path []int, typ reflect.Type, name string)
	walk = func(path []int, typ reflect.Type, name string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			p := append(append([]int(nil), path...), i)
			fname := name + f.Name
			switch {
			case f.Type == reflect.TypeOf(time.Time{}):
				out[fname] = func(e *events.Envelope) {
					v := reflect.ValueOf(e).Elem().FieldByIndex(p)
					v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Nanosecond)))
				}
			case f.Type == reflect.TypeOf(json.RawMessage(nil)):
				out[fname] = func(e *events.Envelope) {
					v := reflect.ValueOf(e).Elem().FieldByIndex(p)
					s := strings.Replace(string(v.Bytes()), "20", "21", 1)
					v.SetBytes([]byte(s))
				}
			case f.Type.Kind() == reflect.Struct:
				walk(p, f.Type, fname+".")
			case f.Type.Kind() == reflect.String:
				out[fname] = func(e *events.Envelope) {
					v := reflect.ValueOf(e).Elem().FieldByIndex(p)
					v.SetString(v.String() + "x")
				}
			case f.Type.Kind() == reflect.Int:
				out[fname] = func(e *events.Envelope) {
					v := reflect.ValueOf(e).Elem().FieldByIndex(p)
					v.SetInt(v.Int() + 1)
				}
			default:
				t.Fatalf("no mutation for Envelope field %s of type %v: extend fieldMutations", fname, f.Type)
			}
		}
	}
	walk(nil, reflect.TypeOf(events.Envelope{}), "")
	return out
}

func TestVerifyDetectsEveryFieldChange(t *testing.T) {
	muts := fieldMutations(t)
	if got, want := len(muts), 15; got != want {
		t.Errorf("mutated fields: got %d, want %d (12 envelope fields and the 3 of Actor)", got, want)
	}
	for name, mutate := range muts {
		t.Run(name, func(t *testing.T) {
			e := sealed(t, testEnvelope("e-1"), "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8")
			before := e
			mutate(&e)
			if equalEnvelopes(e, before) {
				t.Fatalf("mutation of %s changed nothing", name)
			}
			err := e.Verify()
			if !errors.Is(err, events.ErrTampered) {
				t.Fatalf("Verify after changing %s: got %v, want ErrTampered", name, err)
			}
			if !strings.Contains(err.Error(), "event "+e.ID+":") {
				t.Errorf("error: got %q, want it to name event %s", err, e.ID)
			}
			// The change must also survive the wire form and still be caught.
			if d := roundTrip(t, e); !errors.Is(d.Verify(), events.ErrTampered) {
				t.Errorf("Verify after changing %s and a round trip: got %v, want ErrTampered", name, d.Verify())
			}
		})
	}
}

func TestVerifyDetectsTamperedWire(t *testing.T) {
	e := sealed(t, testEnvelope("e-1"), "")
	b, err := e.Encode()
	if err != nil {
		t.Fatalf("Encode: got %v, want nil", err)
	}
	edits := []struct{ name, old, new string }{
		{"minutes", `"minutes":20`, `"minutes":45`},
		{"whitespace in data", `"minutes":20`, `"minutes": 20`},
		{"actor role", `"role":"clinician"`, `"role":"admin"`},
		{"occurredAt", `"occurredAt":"2025-03-14T10:05:00-05:00"`, `"occurredAt":"2025-03-14T10:06:00-05:00"`},
	}
	for _, ed := range edits {
		t.Run(ed.name, func(t *testing.T) {
			if !strings.Contains(string(b), ed.old) {
				t.Fatalf("wire form: got %s, want it to contain %s", b, ed.old)
			}
			d, err := events.Decode([]byte(strings.Replace(string(b), ed.old, ed.new, 1)))
			if err != nil {
				t.Fatalf("Decode: got %v, want nil", err)
			}
			if err := d.Verify(); !errors.Is(err, events.ErrTampered) {
				t.Errorf("Verify: got %v, want ErrTampered", err)
			}
		})
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `{"version":"one"}`, `{"occurredAt":"yesterday"}`} {
		if _, err := events.Decode([]byte(in)); !errors.Is(err, events.ErrInvalid) {
			t.Errorf("Decode(%q): got %v, want ErrInvalid", in, err)
		}
	}
}

// stream returns n sealed events e-1 … e-n chained in order.
func stream(t *testing.T, n int) []events.Envelope {
	t.Helper()
	out := make([]events.Envelope, n)
	prev := ""
	for i := range out {
		e := testEnvelope(fmt.Sprintf("e-%d", i+1))
		e.Data = json.RawMessage(fmt.Sprintf(`{"minutes":%d}`, 20+i))
		out[i] = sealed(t, e, prev)
		prev = out[i].Hash
	}
	return out
}

func TestChain(t *testing.T) {
	forged := func(t *testing.T, prev string) events.Envelope {
		e := testEnvelope("e-forged")
		e.Data = json.RawMessage(`{"minutes":60}`)
		return sealed(t, e, prev)
	}
	tests := []struct {
		name    string
		edit    func(t *testing.T, s []events.Envelope) []events.Envelope
		wantErr error  // nil: the stream verifies
		wantID  string // the event the error names
	}{
		{name: "in order", edit: func(t *testing.T, s []events.Envelope) []events.Envelope { return s }},
		{name: "first removed", wantErr: events.ErrChainBroken, wantID: "e-2",
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope { return s[1:] }},
		{name: "middle removed", wantErr: events.ErrChainBroken, wantID: "e-4",
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope {
				return append(append([]events.Envelope(nil), s[:2]...), s[3:]...)
			}},
		{name: "last removed", // undetectable without the stream's known head; see Last
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope { return s[:4] }},
		{name: "reordered", wantErr: events.ErrChainBroken, wantID: "e-4",
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope {
				s[2], s[3] = s[3], s[2]
				return s
			}},
		{name: "duplicated", wantErr: events.ErrChainBroken, wantID: "e-2",
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope {
				return append(append([]events.Envelope(nil), s[:2]...), s[1:]...)
			}},
		{name: "inserted with wrong prevHash", wantErr: events.ErrChainBroken, wantID: "e-forged",
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope {
				f := forged(t, s[0].Hash)
				return append(append(append([]events.Envelope(nil), s[:2]...), f), s[2:]...)
			}},
		{name: "inserted linking to its predecessor", wantErr: events.ErrChainBroken, wantID: "e-3",
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope {
				f := forged(t, s[1].Hash)
				return append(append(append([]events.Envelope(nil), s[:2]...), f), s[2:]...)
			}},
		{name: "altered", wantErr: events.ErrTampered, wantID: "e-3",
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope {
				s[2].Data = json.RawMessage(`{"minutes":99}`)
				return s
			}},
		{name: "altered and resealed", wantErr: events.ErrChainBroken, wantID: "e-4",
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope {
				s[2].Data = json.RawMessage(`{"minutes":99}`)
				s[2] = sealed(t, s[2], s[2].PrevHash)
				return s
			}},
		{name: "prevHash rewritten", wantErr: events.ErrTampered, wantID: "e-2",
			edit: func(t *testing.T, s []events.Envelope) []events.Envelope {
				s[1].PrevHash = ""
				return s
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.edit(t, stream(t, 5))
			var c events.Chain
			var err error
			for i := range s {
				if err = c.Next(&s[i]); err != nil {
					break
				}
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Chain: got %v, want nil", err)
				}
				if c.Checked() != len(s) || c.Last() != s[len(s)-1].Hash {
					t.Errorf("Chain: got checked %d last %s, want %d and %s", c.Checked(), c.Last(), len(s), s[len(s)-1].Hash)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Chain: got %v, want %v", err, tt.wantErr)
			}
			if msg := err.Error(); !strings.Contains(msg, "event "+tt.wantID+" ") && !strings.Contains(msg, "event "+tt.wantID+":") {
				t.Errorf("Chain error: got %q, want it to name event %s", err, tt.wantID)
			}
		})
	}
}

func TestChainLastDetectsTruncation(t *testing.T) {
	s := stream(t, 5)
	var c events.Chain
	for i := range s[:4] {
		if err := c.Next(&s[i]); err != nil {
			t.Fatalf("Next(%s): got %v, want nil", s[i].ID, err)
		}
	}
	if c.Last() == s[4].Hash {
		t.Errorf("Last after a truncated stream: got the real head %s, want another hash", c.Last())
	}
}

func TestResumeChain(t *testing.T) {
	s := stream(t, 5)
	c := events.ResumeChain(s[1].Hash)
	for i := 2; i < 5; i++ {
		if err := c.Next(&s[i]); err != nil {
			t.Fatalf("Next(%s): got %v, want nil", s[i].ID, err)
		}
	}
	if c.Checked() != 3 {
		t.Errorf("Checked: got %d, want 3", c.Checked())
	}
	c = events.ResumeChain(s[1].Hash)
	if err := c.Next(&s[3]); !errors.Is(err, events.ErrChainBroken) {
		t.Errorf("Next after a gap: got %v, want ErrChainBroken", err)
	}
	if c.Checked() != 0 || c.Last() != s[1].Hash {
		t.Errorf("Chain after a refused event: got checked %d last %s, want 0 and %s", c.Checked(), c.Last(), s[1].Hash)
	}
}

// A chain resumed from a hash that is not lowercase hex SHA-256 keeps it as
// given: only an event whose PrevHash is that very string links to it.
func TestResumeChainFromAnyHash(t *testing.T) {
	s := stream(t, 2)
	upper := strings.ToUpper(s[0].Hash)
	for _, tc := range []struct {
		name, from string
		wantErr    error
	}{
		{"lowercase hex", s[0].Hash, nil},
		{"uppercase hex", upper, events.ErrChainBroken},
		{"not hex", "not-a-hash", events.ErrChainBroken},
		{"empty: a stream's start", "", events.ErrChainBroken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := events.ResumeChain(tc.from)
			if c.Last() != tc.from {
				t.Errorf("Last of a resumed chain: got %q, want %q", c.Last(), tc.from)
			}
			e := s[1]
			if err := c.Next(&e); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Next: got %v, want %v", err, tc.wantErr)
			}
		})
	}
	e := s[1]
	e.PrevHash = upper
	e = sealed(t, e, upper)
	if err := events.ResumeChain(upper).Next(&e); err != nil {
		t.Errorf("Next of an event linking to the very string resumed from: got %v, want nil", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*events.Envelope)
		wantField string // "" means valid
	}{
		{name: "valid", edit: func(*events.Envelope) {}},
		{name: "optional fields empty", edit: func(e *events.Envelope) {
			e.PatientID, e.Actor.App, e.CorrelationID, e.CausationID = "", "", "", ""
		}},
		{name: "practice stream", edit: func(e *events.Envelope) { e.Stream, e.PatientID = events.PracticeStream, "" }},
		{name: "missing id", edit: func(e *events.Envelope) { e.ID = "" }, wantField: "id"},
		{name: "id with dot", edit: func(e *events.Envelope) { e.ID = "e.1" }, wantField: "id"},
		{name: "missing type", edit: func(e *events.Envelope) { e.Type = "" }, wantField: "type"},
		{name: "type not UTF-8", edit: func(e *events.Envelope) { e.Type = "consent.\xff" }, wantField: "type"},
		{name: "version zero", edit: func(e *events.Envelope) { e.Version = 0 }, wantField: "version"},
		{name: "version negative", edit: func(e *events.Envelope) { e.Version = -1 }, wantField: "version"},
		{name: "missing stream", edit: func(e *events.Envelope) { e.Stream = "" }, wantField: "stream"},
		{name: "stream with wildcard", edit: func(e *events.Envelope) { e.Stream = "patient.*" }, wantField: "stream"},
		{name: "patientId not UTF-8", edit: func(e *events.Envelope) { e.PatientID = "p\xc3" }, wantField: "patientId"},
		{name: "missing occurredAt", edit: func(e *events.Envelope) { e.OccurredAt = time.Time{} }, wantField: "occurredAt"},
		{name: "missing recordedAt", edit: func(e *events.Envelope) { e.RecordedAt = time.Time{} }, wantField: "recordedAt"},
		{name: "missing actor id", edit: func(e *events.Envelope) { e.Actor.ID = "" }, wantField: "actor"},
		{name: "missing actor role", edit: func(e *events.Envelope) { e.Actor.Role = "" }, wantField: "actor"},
		{name: "actor id not UTF-8", edit: func(e *events.Envelope) { e.Actor.ID = "rn\xff" }, wantField: "actor.id"},
		{name: "actor role not UTF-8", edit: func(e *events.Envelope) { e.Actor.Role = "\xfe" }, wantField: "actor.role"},
		{name: "actor app not UTF-8", edit: func(e *events.Envelope) { e.Actor.App = "app\xff" }, wantField: "actor.app"},
		{name: "correlationId not UTF-8", edit: func(e *events.Envelope) { e.CorrelationID = "\x80" }, wantField: "correlationId"},
		{name: "causationId not UTF-8", edit: func(e *events.Envelope) { e.CausationID = "\x80" }, wantField: "causationId"},
		{name: "missing data", edit: func(e *events.Envelope) { e.Data = nil }, wantField: "data"},
		{name: "data not JSON", edit: func(e *events.Envelope) { e.Data = json.RawMessage(`{minutes:20}`) }, wantField: "data"},
		{name: "data not UTF-8", edit: func(e *events.Envelope) { e.Data = json.RawMessage("{\"notes\":\"\xff\"}") }, wantField: "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEnvelope("e-1")
			tt.edit(&e)
			err := e.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate: got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, events.ErrInvalid) {
				t.Fatalf("Validate: got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), ": "+tt.wantField+" ") {
				t.Errorf("Validate: got %q, want it to name field %s", err, tt.wantField)
			}
			if err := e.Seal(""); !errors.Is(err, events.ErrInvalid) {
				t.Errorf("Seal: got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"p-1", true},
		{"A", true},
		{"7", true},
		{"te_2025-03-14_0001", true},
		{"urn:carelog:p1", true},
		{"01JQ8Z3K5V7W9X1Y2Z3A4B5C6D", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"p.1", false},
		{"p*", false},
		{"*", false},
		{"p>", false},
		{">", false},
		{"p 1", false},
		{" p1", false},
		{"p1\n", false},
		{"p\t1", false},
		{"-p1", false},
		{"_p1", false},
		{":p1", false},
		{"p/1", false},
		{"José", false},
	}
	for _, tt := range tests {
		if got := events.ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q): got %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestValidStreamKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{events.PracticeStream, true},
		{"patient.p-1", true},
		{"batch.2025-03", true},
		{"claim_batch.2025-03", true},
		{"patient.urn:carelog:p1", true},
		{"patient." + strings.Repeat("a", 128), true},
		{"patient." + strings.Repeat("a", 129), false},
		{"", false},
		{".p1", false},
		{"patient.", false},
		{"patient..p1", false},
		{"patient.p1.x", false},
		{"patient.*", false},
		{"patient.>", false},
		{"patient.p*", false},
		{"*", false},
		{">", false},
		{"patient.p 1", false},
		{"patient .p1", false},
		{" patient.p1", false},
		{"patient.p1\n", false},
		{"Patient.p1", false},
		{"1patient.p1", false},
		{"patient.-p1", false},
		{"patient.José", false},
	}
	for _, tt := range tests {
		if got := events.ValidStreamKey(tt.key); got != tt.want {
			t.Errorf("ValidStreamKey(%q): got %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestStreamKeysOfValidIDsAreValid(t *testing.T) {
	for _, id := range []string{"p-1", "urn:carelog:p1", strings.Repeat("z", 128)} {
		if k := events.PatientStream(id); !events.ValidStreamKey(k) {
			t.Errorf("ValidStreamKey(PatientStream(%q)): got false, want true", id)
		}
	}
	if k := events.BatchStream("2025-03"); k != "batch.2025-03" || !events.ValidStreamKey(k) {
		t.Errorf("BatchStream(2025-03): got %q (valid %v), want batch.2025-03 (valid)", k, events.ValidStreamKey(k))
	}
}
