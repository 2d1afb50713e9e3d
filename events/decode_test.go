package events

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func slowDecode(b []byte) (Envelope, error) {
	var e Envelope
	err := json.Unmarshal(b, &e)
	return e, err
}

// The fast path must give exactly what encoding/json gives, for every
// envelope Encode writes: random fields, optional ones absent, escapes (which
// take the slow path), nested data with braces inside strings.
func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	texts := []string{"", "p-1", "care } { coordination ] [", `quote " inside`, `back\slash`, "tab\tnewline\n", "héllo ✓", "<b>&amp;</b>", "ctl\u0001"}
	pick := func() string { return texts[rng.IntN(len(texts))] }
	zones := []*time.Location{time.UTC, time.FixedZone("", -5*3600), time.FixedZone("", 5*3600+1800)}
	fast := 0
	for i := range 2000 {
		data, _ := json.Marshal(map[string]any{"n": i, "note": pick(), "list": []any{pick(), 1.5, nil, true, map[string]any{"k": pick()}}})
		e := Envelope{
			ID: fmt.Sprintf("e-%d", i), Type: Type("t." + pick()), Version: 1 + rng.IntN(3), Stream: "patient.p-" + fmt.Sprint(i%7),
			OccurredAt: time.Unix(rng.Int64N(2e9), rng.Int64N(1e9)).In(zones[rng.IntN(3)]),
			RecordedAt: time.Unix(rng.Int64N(2e9), 0).In(zones[rng.IntN(3)]),
			Actor:      Actor{ID: pick(), Role: "clinician"},
			Data:       data, PrevHash: pick(), Hash: "abc",
		}
		switch rng.IntN(3) {
		case 0:
			e.PatientID = pick()
		case 1:
			e.PatientID = e.Stream[len("patient."):] // shares the stream's string
		}
		if rng.IntN(2) == 0 {
			e.Actor.App = pick()
		}
		if rng.IntN(2) == 0 {
			e.CorrelationID = pick()
		}
		if rng.IntN(3) == 0 {
			e.CausationID = pick()
		}
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		want, err := slowDecode(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s): %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%s):\ngot  %+v\nwant %+v", b, got, want)
		}
		owned, err := DecodeOwned(append([]byte(nil), b...))
		if err != nil || !reflect.DeepEqual(owned, want) {
			t.Fatalf("DecodeOwned(%s): %v\ngot  %+v\nwant %+v", b, err, owned, want)
		}
		if _, err := fastDecode(b, false); err == nil {
			fast++
		}
	}
	if fast < 100 {
		t.Fatalf("got %d inputs on the fast path, want most escape-free ones there", fast)
	}
}

// Decode copies everything it returns; DecodeOwned lets only Data alias
// its input: the strings and times stay what they were when the input is
// overwritten.
func TestDecodeAliasing(t *testing.T) {
	e := Envelope{ID: "e-1", Type: "consent.granted", Version: 1, Stream: "patient.p-1", PatientID: "p-1",
		OccurredAt: time.Date(2025, 3, 4, 5, 6, 7, 8, time.FixedZone("", -5*3600)), RecordedAt: time.Date(2025, 3, 4, 5, 6, 8, 0, time.UTC),
		Actor: Actor{ID: "rn-1", Role: "clinician", App: "ehr"}, Data: json.RawMessage(`{"a":"b"}`), PrevHash: "aa11", Hash: "bb22"}
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := slowDecode(b)
	for _, tc := range []struct {
		name      string
		decode    func([]byte) (Envelope, error)
		dataAlias bool
	}{{"Decode", Decode, false}, {"DecodeOwned", DecodeOwned, true}} {
		in := append([]byte(nil), b...)
		got, err := tc.decode(in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i := range in {
			in[i] = 'X'
		}
		if tc.dataAlias {
			if string(got.Data) != "XXXXXXXXX" {
				t.Errorf("%s: Data %s after overwriting the input, want it to alias the input", tc.name, got.Data)
			}
			got.Data = want.Data
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: after overwriting the input:\ngot  %+v\nwant %+v", tc.name, got, want)
		}
	}
}

func TestFastDecodeRefusesOtherLayouts(t *testing.T) {
	for _, in := range []string{
		`{"type":"x","id":"e-1","version":1,"stream":"s","occurredAt":"2025-01-01T00:00:00Z","recordedAt":"2025-01-01T00:00:00Z","actor":{"id":"a","role":"r"},"data":{},"prevHash":"","hash":""}`,
		`{"id":"e-1", "type":"x","version":1,"stream":"s","occurredAt":"2025-01-01T00:00:00Z","recordedAt":"2025-01-01T00:00:00Z","actor":{"id":"a","role":"r"},"data":{},"prevHash":"","hash":""}`,
		`{"id":"e-1","type":"x","version":1,"stream":"s","occurredAt":"2025-01-01T00:00:00Z","recordedAt":"2025-01-01T00:00:00Z","actor":{"id":"a","role":"r"},"data":{},"prevHash":"","hash":""} `,
		`{"id":"e-1","type":"x","version":1,"stream":"s","occurredAt":"nope","recordedAt":"2025-01-01T00:00:00Z","actor":{"id":"a","role":"r"},"data":{},"prevHash":"","hash":""}`,
		`{"id":"e-1","type":"x","version":1,"stream":"s","occurredAt":"2025-01-01T00:00:00Z","recordedAt":"2025-01-01T00:00:00Z","actor":{"id":"a","role":"r"},"data":{"a":{},"prevHash":"","hash":""}`,
	} {
		if _, err := fastDecode([]byte(in), false); err == nil {
			t.Errorf("fastDecode(%s): got success, want the slow path", in)
		}
	}
}

// FuzzDecode: whenever the input is valid JSON, Decode agrees with
// encoding/json (same envelope or both failing).
func FuzzDecode(f *testing.F) {
	e := Envelope{ID: "e-1", Type: "t", Version: 1, Stream: "patient.p-1", OccurredAt: time.Unix(1, 0).UTC(), RecordedAt: time.Unix(2, 0).UTC(), Actor: Actor{ID: "a", Role: "r"}, Data: json.RawMessage(`{"a":"}"}`)}
	b, _ := e.Encode()
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			return
		}
		want, werr := slowDecode(in)
		got, gerr := Decode(in)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("Decode(%q): got err %v, encoding/json err %v", in, gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%q):\ngot  %+v\nwant %+v", in, got, want)
		}
	})
}

// BenchmarkDecode compares the fast path with encoding/json on a typical
// time-entry event (not a carelog/raw pair: both are ours).
func BenchmarkDecode(b *testing.B) {
	e := Envelope{ID: "entry-8f2c", Type: "activity.time_recorded", Version: 1, Stream: "patient.p-123", PatientID: "p-123",
		OccurredAt: time.Date(2025, 3, 4, 15, 0, 0, 0, time.FixedZone("", -5*3600)), RecordedAt: time.Date(2025, 3, 4, 15, 20, 0, 0, time.UTC),
		Actor: Actor{ID: "tok-1", Role: "clinician", App: "nurse app"}, CorrelationID: "req-1",
		Data:     json.RawMessage(`{"id":"e-1","patientId":"p-123","staff":{"id":"rn-4","name":"Jo","role":"rn"},"programs":["ccm"],"startedAt":"2025-03-04T10:00:00-05:00","minutes":14,"activity":"medication_reconciliation","notes":"Reconciled meds after cardiology visit","outcome":"completed"}`),
		PrevHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
	raw, _ := e.Encode()
	b.Run("path=fast", func(b *testing.B) {
		for range b.N {
			if _, err := Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("path=encoding-json", func(b *testing.B) {
		for range b.N {
			if _, err := slowDecode(raw); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkVerify measures the per-event hash check every read does.
func BenchmarkVerify(b *testing.B) {
	e := Envelope{ID: "entry-8f2c", Type: "activity.time_recorded", Version: 1, Stream: "patient.p-123", PatientID: "p-123",
		OccurredAt: time.Date(2025, 3, 4, 15, 0, 0, 0, time.FixedZone("", -5*3600)), RecordedAt: time.Date(2025, 3, 4, 15, 20, 0, 0, time.UTC),
		Actor: Actor{ID: "tok-1", Role: "clinician", App: "nurse app"}, CorrelationID: "req-1",
		Data: json.RawMessage(`{"id":"e-1","patientId":"p-123","staff":{"id":"rn-4","name":"Jo","role":"rn"},"programs":["ccm"],"startedAt":"2025-03-04T10:00:00-05:00","minutes":14,"activity":"medication_reconciliation","notes":"Reconciled meds after cardiology visit","outcome":"completed"}`)}
	if err := e.Seal(""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}
