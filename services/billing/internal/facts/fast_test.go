package facts

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/rules"
)

// gen builds random payload objects for the fast decoders' test: values of
// the right and the wrong types, nulls, escapes, invalid UTF-8, case
// variants of keys, unknown keys, missing keys.
type gen struct{ r *rand.Rand }

func (g gen) pick(n int) int { return g.r.IntN(n) }

func (g gen) str() any {
	switch g.pick(12) {
	case 0:
		return nil
	case 1:
		return 12
	case 2:
		return "a \"quoted\" <b> & c\\d \u00e9\u2028 \U0001F600"
	case 3:
		return "\xff\xfe"
	case 4:
		return ""
	case 5:
		return "  "
	}
	return []string{"rn", "ccm", "verbal", "x-1", "I50.22", "2025-03-01", "Meals on Wheels", "1234567893", "right_to_stop", "one_practitioner_per_month"}[g.pick(10)]
}

func (g gen) instant() any {
	switch g.pick(8) {
	case 0:
		return nil
	case 1:
		return "2025-13-01T00:00:00Z"
	case 2:
		return 5
	}
	return time.Date(2024+g.pick(3), time.Month(1+g.pick(12)), 1+g.pick(28), g.pick(24), g.pick(60), g.pick(2)*30, g.pick(2)*5e8, time.FixedZone("", (g.pick(9)-4)*3600)).Format(time.RFC3339Nano)
}

func (g gen) integer() any {
	switch g.pick(8) {
	case 0:
		return nil
	case 1:
		return 1.5
	case 2:
		return "12"
	case 3:
		return -3
	}
	return g.pick(200)
}

func (g gen) boolean() any {
	return []any{nil, true, false, "true", 1}[g.pick(5)]
}

func (g gen) list(elem func() any) any {
	switch g.pick(6) {
	case 0:
		return nil
	case 1:
		return "x"
	}
	out := []any{}
	for range g.pick(4) {
		out = append(out, elem())
	}
	return out
}

// object fills fields (name → value generator), dropping some, renaming
// some to case variants, adding unknown ones.
func (g gen) object(fields map[string]func() any) any {
	if g.pick(20) == 0 {
		return nil
	}
	m := map[string]any{}
	for k, f := range fields {
		switch g.pick(10) {
		case 0: // absent
		case 1:
			m[k+"X"] = f()
		case 2:
			if len(k) > 1 {
				m[string(k[0]-32)+k[1:]] = f() // case variant
			} else {
				m[k] = f()
			}
		default:
			m[k] = f()
		}
	}
	if g.pick(4) == 0 {
		m["extra"] = map[string]any{"nested": []any{1, "two", nil, true, map[string]any{}}}
	}
	return m
}

func (g gen) payload(typ events.Type) any {
	s, t, i, b := g.str, g.instant, g.integer, g.boolean
	named := func(keys ...string) func() any {
		return func() any {
			f := map[string]func() any{}
			for _, k := range keys {
				f[k] = s
			}
			return g.object(f)
		}
	}
	switch typ {
	case events.TypePatientEnrolled:
		return g.object(map[string]func() any{"id": s, "mrn": s, "birthDate": s, "billingPractitionerNpi": s, "deceasedDate": s, "name": named("given", "family")})
	case events.TypeConditionRecorded:
		return g.object(map[string]func() any{"code": s, "description": s, "expectedDurationMonths": i, "significantRisk": b, "onsetDate": s})
	case events.TypeConsentGranted, events.TypeConsentDeclined:
		return g.object(map[string]func() any{"id": s, "program": s, "practitionerNpi": s, "method": s, "obtainedAt": t, "obtainedBy": s, "disclosures": func() any { return g.list(s) }})
	case events.TypeEncounterRecorded:
		return g.object(map[string]func() any{"id": s, "kind": s, "code": s, "practitionerNpi": s, "start": t, "end": t, "timeBased": b, "ccmDiscussed": b, "g0506": b})
	case events.TypeCarePlanCopyProvided:
		return g.object(map[string]func() any{"planId": func() any { return "plan-1" }, "providedAt": t, "to": s, "method": s})
	case events.TypeCarePlanEstablished:
		return g.object(map[string]func() any{
			"id": func() any { return "plan-1" }, "kind": s, "establishedAt": t, "authorNpi": s, "electronic": b,
			"expectedOutcome": s, "prognosis": s, "symptomManagement": s,
			"problems": func() any { return g.list(named("code", "description")) },
			"goals":    func() any { return g.list(named("measure", "target", "description")) },
			"interventions": func() any {
				return g.list(func() any {
					return g.object(map[string]func() any{"description": s, "responsible": named("name", "role")})
				})
			},
			"medications":        func() any { return g.list(named("name", "dose")) },
			"communityResources": func() any { return g.list(named("name", "purpose")) },
			"coordination":       func() any { return g.list(named("name", "role")) },
			"reviewSchedule":     func() any { return g.object(map[string]func() any{"intervalMonths": i}) },
		})
	case events.TypeTimeRecorded:
		return g.object(map[string]func() any{"id": s, "patientId": s, "notes": s, "startedAt": t, "minutes": i, "activity": s, "outcome": s,
			"sessionId": s, "encounterId": s, "endedAt": t, "programs": func() any { return g.list(s) }, "staff": named("id", "name", "role", "npi")})
	}
	return nil
}

// TestFastDecodersMatchEncodingJSON folds random payloads of every type
// with the fast decoders and with encoding/json alone: the facts must be
// identical.
func TestFastDecodersMatchEncodingJSON(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(7, 11))}
	types := []events.Type{events.TypePatientEnrolled, events.TypeConditionRecorded, events.TypeConsentGranted, events.TypeConsentDeclined,
		events.TypeEncounterRecorded, events.TypeCarePlanEstablished, events.TypeCarePlanCopyProvided, events.TypeTimeRecorded}
	raw := []string{`{"id":"a","id":null}`, `{"id":"a",}`, `{"id":"a"} x`, `{"id" "a"}`, `{"minutes":012}`, `{"minutes":1e2}`, `{"i\u0064":"a"}`, `[]`, ``, `{"start":"2025-03-04T10:00:00\u002b05:00"}`}
	for _, typ := range types {
		var payloads [][]byte
		for _, r := range raw {
			payloads = append(payloads, []byte(r))
		}
		for range 400 {
			b, err := json.Marshal(g.payload(typ))
			if err != nil {
				t.Fatal(err)
			}
			payloads = append(payloads, b)
		}
		decided := 0
		for i, data := range payloads {
			// A plan first, so copies have one to attach to.
			prefix := eventlog.Record{Sequence: 1, Envelope: events.Envelope{ID: "ev-1", Type: events.TypeCarePlanEstablished, Version: 1,
				Data: []byte(`{"id":"plan-1","establishedAt":"2025-01-01T00:00:00Z"}`)}}
			rec := eventlog.Record{Sequence: 2, Envelope: events.Envelope{ID: "ev-2", Type: typ, Version: 1, Data: data,
				RecordedAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}}
			fold := func(fastOn bool) string {
				fastDecode = fastOn
				defer func() { fastDecode = true }()
				p := NewPatient("p-1")
				p.Apply(prefix)
				ch := p.Apply(rec)
				first, last, ok := p.MonthRange(time.UTC)
				f := p.Facts(rules.MustMonth("2025-03"), NewPractice(), nil)
				f.TimeEntries = p.Entries()
				deaths := 0
				if p.more != nil {
					deaths = len(p.more.deaths.v)
				}
				b, _ := json.Marshal(struct {
					Change      Change
					Range       []any
					Facts       rules.Facts
					Funnel      any
					Enrolled    bool
					NPI, Birth  string
					DeceasedLen int
				}{ch, []any{first, last, ok}, f, p.Funnel(), p.Enrolled, p.BillingNPI, p.BirthDate.String(), deaths})
				return string(b)
			}
			got, want := fold(true), fold(false)
			if got != want {
				t.Errorf("%s payload %d %s:\nfast %s\njson %s", typ, i, data, got, want)
			}
			var scratch any
			if json.Unmarshal(data, &scratch) == nil {
				decided++
			}
		}
		if decided < 100 {
			t.Errorf("%s: only %d valid payloads generated", typ, decided)
		}
	}
}

// The fast decoders decide the payloads the services write (and the
// benchmark's), not declining to encoding/json.
func TestFastDecodersDecidePlainPayloads(t *testing.T) {
	end := time.Date(2025, 1, 10, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		typ     events.Type
		payload any
		decide  func(rec eventlog.Record) bool
	}{
		{events.TypePatientEnrolled, events.PatientEnrolled{ID: "p-1", MRN: "M", Name: events.PersonName{Given: "A", Family: "B"}, BirthDate: "1948-02-03", MBI: "1EG4TE5MK73", BillingPractitionerNPI: "1234567893"},
			func(rec eventlog.Record) bool {
				var v events.PatientEnrolled
				s := scanner{b: rec.Data}
				return s.document(func(k []byte) bool { return fieldEnrolled(&s, k, &v) })
			}},
		{events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v-1", Kind: "office_visit", Code: "99214", PractitionerNPI: "1234567893", Start: end.Add(-time.Hour), End: &end, CCMDiscussed: true},
			func(rec eventlog.Record) bool {
				var v events.EncounterRecorded
				s := scanner{b: rec.Data}
				return s.document(func(k []byte) bool { return fieldEncounter(&s, k, &v) })
			}},
		{events.TypeCarePlanEstablished, events.CarePlanEstablished{ID: "cp", Kind: "comprehensive", EstablishedAt: end, Electronic: true,
			Goals:         []events.CarePlanGoal{{ConditionCode: "E11.65", Description: "Glycemic control", Measure: "HbA1c", Target: "< 8.0 %"}},
			Interventions: []events.CarePlanIntervention{{Description: "Weekly call", Responsible: events.ResponsibleParty{Name: "RN", Role: "rn"}}}},
			func(rec eventlog.Record) bool {
				var v events.CarePlanEstablished
				s := scanner{b: rec.Data}
				return s.document(func(k []byte) bool { return fieldPlan(&s, k, &v) })
			}},
	} {
		b, _ := json.Marshal(c.payload)
		if !c.decide(eventlog.Record{Envelope: events.Envelope{Data: b}}) {
			t.Errorf("%s: the fast decoder declined %s", c.typ, b)
		}
	}
}

// TestStringTokensMatchEncodingJSON: the scanner's own unescaping decodes a
// string token as encoding/json does whenever it decides, and its check of
// a skipped token agrees with json.Valid.
func TestStringTokensMatchEncodingJSON(t *testing.T) {
	tokens := []string{`""`, `"a"`, `"\u003c b \u0026 c\u003e"`, `"\"\\\/\b\f\n\r\t"`, `"é ✓ 😀 \u00e9\u2028"`,
		`"\ud83d\ude00"`, `"\ud83d"`, `"\udc00x"`, `"\u12"`, `"\u12g4"`, `"\x"`, `"\'"`, "\"a\xffb\\n\"", "\"\xe2\x82\\n\"", `"\u0000"`, `"\uFFFF\uabcd"`}
	rng := rand.New(rand.NewPCG(3, 5))
	pieces := []string{"a", " ", "\\n", "\\u00e9", "\\u003C", "\\ud800", "\\\\", "\\/", "é", "\xff", "\\q", "\\u0", "\"x"}
	for range 2000 {
		var b []byte
		for range rng.IntN(6) {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		tokens = append(tokens, `"`+string(b)+`"`)
	}
	decided := 0
	for _, tok := range tokens {
		s := scanner{b: []byte(tok)}
		raw, _, ok := s.rawString()
		if !ok || s.i != len(tok) {
			continue // not one string token
		}
		if got, want := validString(raw), json.Valid(raw); got != want {
			t.Errorf("validString(%s): got %v, want %v", raw, got, want)
		}
		var want string
		wantErr := json.Unmarshal(raw, &want)
		got, ok := unescape(nil, raw)
		if ok && (wantErr != nil || string(got) != want) {
			t.Errorf("unescape(%s): got %q, want %q (%v)", raw, got, want, wantErr)
		}
		if ok {
			decided++
		}
	}
	if got, ok := unescape(nil, []byte(`"\u003c 8.0 % \u0026 \"x\""`)); !ok || string(got) != `< 8.0 % & "x"` {
		t.Errorf("unescape of the escapes json.Marshal writes: got %q, %v; want decided", got, ok)
	}
	if decided < 200 {
		t.Errorf("unescape decided %d of %d tokens, want most of the valid ones", decided, len(tokens))
	}
}
