package facts

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unique"

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

// The readers decode rec's payload into *v: with the fast decoder when rec
// is of its type's latest version, else (or when the fast decoder
// declines) with encoding/json (decode), which overwrites whatever the fast
// decoder filled in. Each is written out for its type, with direct calls
// only, so that neither the payload nor the scanner escapes to the heap.

func readEnrolled(rec eventlog.Record, v *events.PatientEnrolled) bool {
	s := scanner{b: rec.Data}
	return fastRead(rec) && s.document(func(key []byte) bool { return fieldEnrolled(&s, key, v) }) || decode(rec, v)
}

func readCondition(rec eventlog.Record, v *events.ConditionRecorded) bool {
	s := scanner{b: rec.Data}
	return fastRead(rec) && s.document(func(key []byte) bool { return fieldCondition(&s, key, v) }) || decode(rec, v)
}

// readConsent reads consent.granted and consent.declined, which have the
// same fields.
func readConsent(rec eventlog.Record, v *events.ConsentGranted) bool {
	s := scanner{b: rec.Data}
	if fastRead(rec) && s.document(func(key []byte) bool { return fieldConsent(&s, key, v) }) {
		return true
	}
	if rec.Type == events.TypeConsentDeclined {
		var d events.ConsentDeclined
		ok := decode(rec, &d)
		*v = events.ConsentGranted(d)
		return ok
	}
	return decode(rec, v)
}

func readEncounter(rec eventlog.Record, v *events.EncounterRecorded) bool {
	s := scanner{b: rec.Data}
	return fastRead(rec) && s.document(func(key []byte) bool { return fieldEncounter(&s, key, v) }) || decode(rec, v)
}

func readCopy(rec eventlog.Record, v *events.CarePlanCopyProvided) bool {
	s := scanner{b: rec.Data}
	return fastRead(rec) && s.document(func(key []byte) bool { return fieldCopy(&s, key, v) }) || decode(rec, v)
}

func readPlan(rec eventlog.Record, v *events.CarePlanEstablished) bool {
	s := scanner{b: rec.Data}
	return fastRead(rec) && s.document(func(key []byte) bool { return fieldPlan(&s, key, v) }) || decode(rec, v)
}

// fastRead reports whether the fast decoders read rec: it is of its type's
// latest version.
func fastRead(rec eventlog.Record) bool {
	return fastDecode && rec.Version == events.DefaultRegistry().Latest(rec.Type)
}

func fieldEnrolled(s *scanner, key []byte, v *events.PatientEnrolled) bool {
	switch string(key) {
	case "id":
		return s.str(&v.ID)
	case "birthDate":
		return s.str(&v.BirthDate)
	case "billingPractitionerNpi":
		return s.shared(&v.BillingPractitionerNPI)
	case "deceasedDate":
		return s.str(&v.DeceasedDate)
	}
	return s.skipOther(key, knownEnrolled)
}

func fieldCondition(s *scanner, key []byte, v *events.ConditionRecorded) bool {
	switch string(key) {
	case "code":
		return s.shared(&v.Code)
	case "description":
		return s.shared(&v.Description)
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
		return s.shared(&v.PractitionerNPI)
	case "method":
		return s.intern(&v.Method)
	case "obtainedAt":
		return s.instant(&v.ObtainedAt)
	case "obtainedBy":
		return s.shared(&v.ObtainedBy)
	case "disclosures":
		return s.disclosures(&v.Disclosures)
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
		return s.shared(&v.Code)
	case "practitionerNpi":
		return s.shared(&v.PractitionerNPI)
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
		return s.shared(&v.AuthorNPI)
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
			return s.skipOther(key, knownProblems)
		})
	case "goals":
		return elements(s, &v.Goals, func(key []byte, x *events.CarePlanGoal) bool {
			switch string(key) {
			case "measure":
				return s.str(&x.Measure)
			case "target":
				return s.str(&x.Target)
			}
			return s.skipOther(key, knownGoals)
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
					return s.skipOther(key, knownResponsible)
				})
			}
			return s.skipOther(key, knownInterventions)
		})
	case "medications":
		return elements(s, &v.Medications, func(key []byte, x *events.Medication) bool {
			if string(key) == "name" {
				return s.str(&x.Name)
			}
			return s.skipOther(key, knownMedications)
		})
	case "communityResources":
		return elements(s, &v.CommunityResources, func(key []byte, x *events.CommunityResource) bool {
			if string(key) == "name" {
				return s.str(&x.Name)
			}
			return s.skipOther(key, knownCommunityResources)
		})
	case "coordination":
		return elements(s, &v.Coordination, func(key []byte, x *events.CoordinationContact) bool {
			if string(key) == "name" {
				return s.str(&x.Name)
			}
			return s.skipOther(key, knownCoordination)
		})
	case "reviewSchedule":
		if s.null() {
			return true
		}
		return s.object(func(key []byte) bool {
			if string(key) == "intervalMonths" {
				return s.integer(&v.ReviewSchedule.IntervalMonths)
			}
			return s.skipOther(key, knownReviewSchedule)
		})
	}
	return s.skipOther(key, knownPlan)
}

// entryDraft is an activity.time_recorded payload as the fast decoder
// reads it: the fields entryOf maps, their strings still in the payload's
// bytes (or unescaped copies), until pack copies them into an entry.
type entryDraft struct {
	entryText[[]byte]
	startedAt         time.Time
	minutes           int
	directSupervision bool
}

// decode reads an events.TimeEntry payload (notes, patientId and endedAt
// are skipped), with the semantics of the other fast decoders.
func (d *entryDraft) decode(data []byte) bool {
	s := scanner{b: data}
	return s.document(func(key []byte) bool {
		switch string(key) {
		case "id":
			return s.bytes(&d.id)
		case "staff":
			if s.null() {
				return true
			}
			return s.object(func(key []byte) bool {
				switch string(key) {
				case "id":
					return s.bytes(&d.staffID)
				case "name":
					return s.bytes(&d.staffName)
				case "role":
					return s.bytes(&d.role)
				case "npi":
					return s.bytes(&d.staffNPI)
				}
				return s.skipOther(key, knownStaff)
			})
		case "programs":
			return s.programs(&d.programs)
		case "startedAt":
			return s.instant(&d.startedAt)
		case "minutes":
			return s.integer(&d.minutes)
		case "activity":
			return s.bytes(&d.activity)
		case "outcome":
			return s.bytes(&d.outcome)
		case "sessionId":
			return s.bytes(&d.sessionID)
		case "encounterId":
			return s.bytes(&d.encounterID)
		case "directSupervision":
			return s.boolean(&d.directSupervision)
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
		// Decoded in place: a local element would escape to the heap
		// through field.
		out = append(out, *new(T))
		return s.null() || s.object(func(key []byte) bool { return field(key, &out[len(out)-1]) })
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
	for j := start + 1; j < len(s.b); {
		if plainByte[s.b[j]] {
			j++
			continue
		}
		switch c := s.b[j]; {
		case c == '"':
			raw = s.b[start : j+1]
			s.i = j + 1
			return raw, !esc && (ascii || utf8.Valid(raw)), true
		case c == '\\':
			esc = true
			j += 2
		case c < 0x20:
			return nil, false, false
		default: // c >= utf8.RuneSelf
			ascii = false
			j++
		}
	}
	return nil, false, false
}

// plainByte holds the bytes that stand for themselves in a JSON string:
// printable ASCII but the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

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
	return s.unquote(raw, dst)
}

// shared is str for a value that many facts repeat (a practitioner's NPI,
// a diagnosis code or description, a staff id): one copy of it is shared
// (unique.Make), instead of one per fact.
func (s *scanner) shared(dst *string) bool {
	if s.null() {
		return true
	}
	raw, plain, ok := s.rawString()
	if !ok {
		return false
	}
	if plain {
		*dst = unique.Make(string(raw[1 : len(raw)-1])).Value()
		return true
	}
	return s.unquote(raw, dst)
}

// unquote decodes a string token with escapes into *dst as encoding/json
// does: itself for the escapes services write (those of ASCII and of the
// rest of the basic plane, around valid UTF-8), with encoding/json
// otherwise.
func (s *scanner) unquote(raw []byte, dst *string) bool {
	var buf [128]byte
	if b, ok := unescape(buf[:0], raw); ok {
		*dst = string(b)
		return true
	}
	var v string // not dst: it would escape to the heap on every call
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	*dst = v
	return true
}

// unescape appends the value of the string token raw (quotes included) to
// b. ok is false, and the token left to encoding/json, for a surrogate
// (\ud800–\udfff), an invalid escape or invalid UTF-8.
func unescape(b, raw []byte) (_ []byte, ok bool) {
	raw = raw[1 : len(raw)-1]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			if !utf8.Valid(raw[i:j]) {
				return b, false
			}
			b = append(b, raw[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(raw) {
			return b, false
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(raw[i+2:])
			if !ok || utf16.IsSurrogate(r) {
				return b, false
			}
			b = utf8.AppendRune(b, r)
			i += 4
		default:
			return b, false
		}
		i += 2
	}
	return b, true
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// validString reports whether a string token (from rawString, so without
// control characters) is valid JSON, as json.Valid would: each escape is
// one of \" \\ \/ \b \f \n \r \t or \u and four hex digits.
func validString(raw []byte) bool {
	raw = raw[1 : len(raw)-1]
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 >= len(raw) {
			return false
		}
		switch raw[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			if _, ok := hex4(raw[i+2:]); !ok {
				return false
			}
			i += 4
		default:
			return false
		}
		i++
	}
	return true
}

// bytes is str into a byte slice: a plain string's bytes in the input
// (null leaves it).
func (s *scanner) bytes(dst *[]byte) bool {
	if s.null() {
		return true
	}
	raw, plain, ok := s.rawString()
	if !ok {
		return false
	}
	if plain {
		*dst = raw[1 : len(raw)-1]
		return true
	}
	b, ok := unescape(nil, raw)
	if !ok {
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return false
		}
		b = []byte(v)
	}
	*dst = b
	return true
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
	return s.unquote(raw, dst)
}

// disclosures reads a consent's disclosures, an array of strings (null
// empties it): a list of the contract's disclosures is shared
// (disclosureLists), not allocated.
func (s *scanner) disclosures(dst *[]string) bool {
	if s.null() {
		*dst = nil
		return true
	}
	var first disclosureList
	var out []string
	n := 0
	ok := s.array(func() bool {
		var v string
		if !s.intern(&v) {
			return false
		}
		switch {
		case n < len(first):
			first[n] = v
		case n == len(first):
			out = append(append(make([]string, 0, 2*len(first)), first[:]...), v)
		default:
			out = append(out, v)
		}
		n++
		return true
	})
	if n <= len(first) {
		out = sharedDisclosures(first, n)
	}
	*dst = out
	return ok
}

// programs reads a time entry's program tags as programsOf maps them
// (null empties them), without allocating for a single known program.
func (s *scanner) programs(dst *[]rules.Program) bool {
	if s.null() {
		*dst = nil
		return true
	}
	var first string
	var out []rules.Program
	n := 0
	ok := s.array(func() bool {
		var v string
		if !s.intern(&v) {
			return false
		}
		switch n {
		case 0:
			first = v
		case 1:
			out = append(make([]rules.Program, 0, 4), rules.Program(first), rules.Program(v))
		default:
			out = append(out, rules.Program(v))
		}
		n++
		return true
	})
	switch n {
	case 0:
		*dst = []rules.Program{}
	case 1:
		*dst = programsOf([]string{first})
	default:
		*dst = out
	}
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
		if f := &known[i]; string(key) == f.name {
			return s.check(f)
		}
	}
	for i := range known {
		if strings.EqualFold(string(key), known[i].name) {
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
		return ok && (plain || validString(raw))
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
		return ok && (plain || validString(raw))
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
