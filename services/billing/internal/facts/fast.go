package facts

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/rules"
)

// Fast decoding. encoding/json decodes through reflection, and a rebuild
// decodes every payload of the log once, so the payloads billing reads most
// have reflection-free decoders here. Each reads only the fields billing
// uses into a fresh value of the payload struct and skips the others. They
// follow encoding/json's semantics on what they accept (a null leaves a
// scalar as it is and empties a slice or pointer, a duplicate key's last
// value wins, strings with escapes or invalid UTF-8 are decoded by
// encoding/json itself) and report false on anything else — malformed JSON,
// a key that matches a field only case-insensitively, a number where a
// string belongs — so that the caller falls back to encoding/json, which
// decides. TestFastDecodersMatchEncodingJSON holds them to this.

// fastDecode switches the fast decoders on (tests compare both paths).
var fastDecode = true

// fast decodes rec's payload into dst with field, the fast decoder of T,
// when rec is of its type's latest version; otherwise, or when the fast
// decoder declines, with encoding/json (decode).
func fast[T any](rec eventlog.Record, dst *T, field func(s *scanner, key []byte, v *T) bool) bool {
	if fastDecode && rec.Version == events.DefaultRegistry().Latest(rec.Type) {
		var v T
		s := scanner{b: rec.Data}
		if s.document(func(key []byte) bool { return field(&s, key, &v) }) {
			*dst = v
			return true
		}
	}
	return decode(rec, dst)
}

func fieldEnrolled(s *scanner, key []byte, v *events.PatientEnrolled) bool {
	switch string(key) {
	case "id":
		return s.str(&v.ID)
	case "birthDate":
		return s.str(&v.BirthDate)
	case "billingPractitionerNpi":
		return s.str(&v.BillingPractitionerNPI)
	case "deceasedDate":
		return s.str(&v.DeceasedDate)
	}
	return s.skipOther(key, knownEnrolled)
}

func fieldCondition(s *scanner, key []byte, v *events.ConditionRecorded) bool {
	switch string(key) {
	case "code":
		return s.str(&v.Code)
	case "description":
		return s.str(&v.Description)
	case "expectedDurationMonths":
		return s.integer(&v.ExpectedDurationMonths)
	case "significantRisk":
		return s.boolean(&v.SignificantRisk)
	case "onsetDate":
		return s.str(&v.OnsetDate)
	}
	return s.skipOther(key, knownCondition)
}

func fieldConsent(s *scanner, key []byte, v *events.ConsentGranted) bool {
	switch string(key) {
	case "id":
		return s.str(&v.ID)
	case "program":
		return s.intern(&v.Program)
	case "practitionerNpi":
		return s.str(&v.PractitionerNPI)
	case "method":
		return s.intern(&v.Method)
	case "obtainedAt":
		return s.instant(&v.ObtainedAt)
	case "obtainedBy":
		return s.str(&v.ObtainedBy)
	case "disclosures":
		return s.strings(&v.Disclosures)
	}
	return s.skipOther(key, knownConsent)
}

func fieldEncounter(s *scanner, key []byte, v *events.EncounterRecorded) bool {
	switch string(key) {
	case "id":
		return s.str(&v.ID)
	case "kind":
		return s.intern(&v.Kind)
	case "code":
		return s.str(&v.Code)
	case "practitionerNpi":
		return s.str(&v.PractitionerNPI)
	case "start":
		return s.instant(&v.Start)
	case "end":
		return s.instantPtr(&v.End)
	case "timeBased":
		return s.boolean(&v.TimeBased)
	case "ccmDiscussed":
		return s.boolean(&v.CCMDiscussed)
	case "g0506":
		return s.boolean(&v.G0506)
	}
	return s.skipOther(key, knownEncounter)
}

func fieldCopy(s *scanner, key []byte, v *events.CarePlanCopyProvided) bool {
	switch string(key) {
	case "planId":
		return s.str(&v.PlanID)
	case "providedAt":
		return s.instant(&v.ProvidedAt)
	case "to":
		return s.intern(&v.To)
	case "method":
		return s.intern(&v.Method)
	}
	return s.skipOther(key, knownCopy)
}

// fieldPlan reads what billing needs of a care plan: its header and every
// field that services/careplan/plan.Has reads to decide which elements are
// present (Missing); descriptions and the optional assessments, which it
// does not report, are skipped.
func fieldPlan(s *scanner, key []byte, v *events.CarePlanEstablished) bool {
	switch string(key) {
	case "id":
		return s.str(&v.ID)
	case "kind":
		return s.intern(&v.Kind)
	case "establishedAt":
		return s.instant(&v.EstablishedAt)
	case "authorNpi":
		return s.str(&v.AuthorNPI)
	case "electronic":
		return s.boolean(&v.Electronic)
	case "expectedOutcome":
		return s.str(&v.ExpectedOutcome)
	case "prognosis":
		return s.str(&v.Prognosis)
	case "symptomManagement":
		return s.str(&v.SymptomManagement)
	case "problems":
		return elements(s, &v.Problems, func(key []byte, x *events.CarePlanProblem) bool {
			if string(key) == "code" {
				return s.str(&x.Code)
			}
			return s.skipOther(key, knownPlan.sub("problems"))
		})
	case "goals":
		return elements(s, &v.Goals, func(key []byte, x *events.CarePlanGoal) bool {
			switch string(key) {
			case "measure":
				return s.str(&x.Measure)
			case "target":
				return s.str(&x.Target)
			}
			return s.skipOther(key, knownPlan.sub("goals"))
		})
	case "interventions":
		return elements(s, &v.Interventions, func(key []byte, x *events.CarePlanIntervention) bool {
			if string(key) == "responsible" {
				if s.null() {
					return true
				}
				return s.object(func(key []byte) bool {
					if string(key) == "name" {
						return s.str(&x.Responsible.Name)
					}
					return s.skipOther(key, knownPlan.sub("interventions").sub("responsible"))
				})
			}
			return s.skipOther(key, knownPlan.sub("interventions"))
		})
	case "medications":
		return elements(s, &v.Medications, func(key []byte, x *events.Medication) bool {
			if string(key) == "name" {
				return s.str(&x.Name)
			}
			return s.skipOther(key, knownPlan.sub("medications"))
		})
	case "communityResources":
		return elements(s, &v.CommunityResources, func(key []byte, x *events.CommunityResource) bool {
			if string(key) == "name" {
				return s.str(&x.Name)
			}
			return s.skipOther(key, knownPlan.sub("communityResources"))
		})
	case "coordination":
		return elements(s, &v.Coordination, func(key []byte, x *events.CoordinationContact) bool {
			if string(key) == "name" {
				return s.str(&x.Name)
			}
			return s.skipOther(key, knownPlan.sub("coordination"))
		})
	case "reviewSchedule":
		if s.null() {
			return true
		}
		return s.object(func(key []byte) bool {
			if string(key) == "intervalMonths" {
				return s.integer(&v.ReviewSchedule.IntervalMonths)
			}
			return s.skipOther(key, knownPlan.sub("reviewSchedule"))
		})
	}
	return s.skipOther(key, knownPlan)
}

// decodeEntryFast decodes an events.TimeEntry straight into the rules'
// TimeEntry (the fields entryOf maps; notes, patientId and endedAt are
// skipped), with the semantics of the other fast decoders.
func decodeEntryFast(data []byte, e *rules.TimeEntry) bool {
	s := scanner{b: data}
	return s.document(func(key []byte) bool {
		switch string(key) {
		case "id":
			return s.str(&e.ID)
		case "staff":
			if s.null() {
				return true
			}
			return s.object(func(key []byte) bool {
				switch string(key) {
				case "id":
					return s.str(&e.Staff.ID)
				case "name":
					return s.str(&e.Staff.Name)
				case "role":
					return s.intern((*string)(&e.Staff.Role))
				case "npi":
					return s.str(&e.Staff.NPI)
				}
				return s.skipOther(key, knownEntry.sub("staff"))
			})
		case "programs":
			var ps []string
			if !s.strings(&ps) {
				return false
			}
			e.Programs = programsOf(ps)
			return true
		case "startedAt":
			return s.instant(&e.StartedAt)
		case "minutes":
			return s.integer(&e.Minutes)
		case "activity":
			return s.intern(&e.Activity)
		case "outcome":
			return s.intern(&e.Outcome)
		case "sessionId":
			return s.str(&e.SessionID)
		case "encounterId":
			return s.str(&e.EncounterID)
		}
		return s.skipOther(key, knownEntry)
	})
}

// elements reads an array of objects into *dst (null empties it), each
// element's fields with field.
func elements[T any](s *scanner, dst *[]T, field func(key []byte, x *T) bool) bool {
	if s.null() {
		*dst = nil
		return true
	}
	out := []T{}
	ok := s.array(func() bool {
		var x T
		if s.null() {
			out = append(out, x)
			return true
		}
		if !s.object(func(key []byte) bool { return field(key, &x) }) {
			return false
		}
		out = append(out, x)
		return true
	})
	*dst = out
	return ok
}

// ---- scanner -------------------------------------------------------------------

// scanner is a minimal JSON reader over a byte slice for the fast decoders.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// document reads one object that is the whole input.
func (s *scanner) document(field func(key []byte) bool) bool {
	if !s.object(field) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// object reads {"key": value, ...}, calling field with the scanner placed
// before each value; field must read (or skip) the value. Keys with escapes
// are declined.
func (s *scanner) object(field func(key []byte) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	for {
		raw, plain, ok := s.rawString()
		if !ok || !plain || !s.consume(':') || !field(raw[1:len(raw)-1]) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// array reads [v, ...], calling elem with the scanner before each value.
func (s *scanner) array(elem func() bool) bool {
	if !s.consume('[') {
		return false
	}
	if s.consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	s.ws()
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// rawString reads a string token and returns it with its quotes; plain
// reports that it holds no escape and is valid UTF-8, so that its bytes are
// its value.
func (s *scanner) rawString() (raw []byte, plain, ok bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	start, esc, ascii := s.i, false, true
	for j := start + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			raw = s.b[start : j+1]
			s.i = j + 1
			return raw, !esc && (ascii || utf8.Valid(raw)), true
		case c == '\\':
			esc = true
			j++
		case c < 0x20:
			return nil, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false, false
}

// str reads a string into *dst (null leaves it).
func (s *scanner) str(dst *string) bool {
	if s.null() {
		return true
	}
	raw, plain, ok := s.rawString()
	if !ok {
		return false
	}
	if plain {
		*dst = string(raw[1 : len(raw)-1])
		return true
	}
	return json.Unmarshal(raw, dst) == nil
}

// intern is str sharing the contract's fixed strings.
func (s *scanner) intern(dst *string) bool {
	if s.null() {
		return true
	}
	raw, plain, ok := s.rawString()
	if !ok {
		return false
	}
	if plain {
		*dst = internBytes(raw[1 : len(raw)-1])
		return true
	}
	return json.Unmarshal(raw, dst) == nil
}

// strings reads an array of strings into *dst (null empties it).
func (s *scanner) strings(dst *[]string) bool {
	if s.null() {
		*dst = nil
		return true
	}
	out := []string{}
	ok := s.array(func() bool {
		var v string
		if !s.intern(&v) {
			return false
		}
		out = append(out, v)
		return true
	})
	*dst = out
	return ok
}

// instant reads an RFC 3339 time with time.Time's own UnmarshalJSON, as
// encoding/json does (null leaves it).
func (s *scanner) instant(dst *time.Time) bool {
	if s.null() {
		return true
	}
	raw, _, ok := s.rawString()
	return ok && dst.UnmarshalJSON(raw) == nil
}

// instantPtr reads an optional time (null empties it).
func (s *scanner) instantPtr(dst **time.Time) bool {
	if s.null() {
		*dst = nil
		return true
	}
	t := new(time.Time)
	if !s.instant(t) {
		return false
	}
	*dst = t
	return true
}

// integer reads a JSON integer of at most 9 digits (null leaves it).
func (s *scanner) integer(dst *int) bool {
	if s.null() {
		return true
	}
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	start, n := s.i, 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > 9 || (digits > 1 && s.b[start] == '0') {
		return false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return false
		}
	}
	if neg {
		n = -n
	}
	*dst = n
	return true
}

// boolean reads true or false (null leaves it).
func (s *scanner) boolean(dst *bool) bool {
	switch {
	case s.null():
		return true
	case s.literal("true"):
		*dst = true
		return true
	case s.literal("false"):
		*dst = false
		return true
	}
	return false
}

// skipOther handles a key the decoder does not read. A key of a field of
// the payload struct that billing does not need is checked as encoding/json
// would decode it (a wrong type fails the whole decoding there); a key that
// matches a field only case-insensitively is left to encoding/json; any
// other key is skipped, as encoding/json ignores unknown keys.
func (s *scanner) skipOther(key []byte, known fields) bool {
	for i := range known {
		f := &known[i]
		if string(key) == f.name {
			return s.check(f)
		}
		if strings.EqualFold(string(key), f.name) {
			return false
		}
	}
	return s.skip(0)
}

// check reads a value as encoding/json would decode it into f's type,
// discarding it.
func (s *scanner) check(f *field) bool {
	if s.null() {
		return true
	}
	switch f.kind {
	case kindString:
		raw, plain, ok := s.rawString()
		return ok && (plain || json.Valid(raw))
	case kindTime:
		var t time.Time
		return s.instant(&t)
	case kindInt:
		var n int
		return s.integer(&n)
	case kindBool:
		var b bool
		return s.boolean(&b)
	case kindStrings:
		str := field{kind: kindString}
		return s.array(func() bool { return s.check(&str) })
	case kindObject:
		return s.object(func(key []byte) bool { return s.skipOther(key, f.fields) })
	case kindObjects:
		obj := field{kind: kindObject, fields: f.fields}
		return s.array(func() bool { return s.check(&obj) })
	}
	return false
}

// skip skips one value of any kind.
func (s *scanner) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		raw, plain, ok := s.rawString()
		return ok && (plain || json.Valid(raw))
	case c == '{':
		return s.object(func([]byte) bool { return s.skip(depth + 1) })
	case c == '[':
		return s.array(func() bool { return s.skip(depth + 1) })
	case c == 'n':
		return s.null()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	default:
		return s.number()
	}
}

func (s *scanner) literal(lit string) bool {
	s.ws()
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// number skips a JSON number, checked with encoding/json's own validator.
func (s *scanner) number() bool {
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			s.i++
			continue
		}
		break
	}
	return s.i > start && json.Valid(s.b[start:s.i])
}
