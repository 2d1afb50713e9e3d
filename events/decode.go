package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// errSlowPath makes fastDecode hand the input to encoding/json.
var errSlowPath = errors.New("not in the canonical layout")

// fastDecode parses the exact layout Encode writes (fields in struct order,
// optional ones possibly absent, no whitespace) without reflection. Anything
// else, including escaped strings, returns errSlowPath and Decode falls back
// to encoding/json, so the result is always what encoding/json would give.
// Data is not validated here: it was compacted (so validated) when sealed,
// and the hash check that follows every read detects any later change.
//
// Allocation: a replay decodes every event of the log, so the decoder
// allocates little: type, actor role and app are interned (few distinct
// values), a patient stream's PatientID shares the Stream string, the two
// hashes share one string, times are parsed in place, and with owned the
// payload aliases b instead of being copied.
func fastDecode(b []byte, owned bool) (Envelope, error) {
	var e Envelope
	p := parser{b: b}
	if !p.lit(`{"id":`) {
		return e, errSlowPath
	}
	e.ID = p.str()
	if !p.lit(`,"type":`) {
		return e, errSlowPath
	}
	e.Type = Type(p.intern())
	if !p.lit(`,"version":`) {
		return e, errSlowPath
	}
	e.Version = p.int()
	if !p.lit(`,"stream":`) {
		return e, errSlowPath
	}
	e.Stream = p.str()
	if p.lit(`,"patientId":`) {
		if id := p.raw(); p.bad {
			return e, errSlowPath
		} else if len(e.Stream) == len(patientPrefix)+len(id) && e.Stream[:len(patientPrefix)] == patientPrefix && e.Stream[len(patientPrefix):] == string(id) {
			e.PatientID = e.Stream[len(patientPrefix):]
		} else {
			e.PatientID = string(id)
		}
	}
	if !p.lit(`,"occurredAt":`) {
		return e, errSlowPath
	}
	e.OccurredAt = p.time()
	if !p.lit(`,"recordedAt":`) {
		return e, errSlowPath
	}
	e.RecordedAt = p.time()
	if !p.lit(`,"actor":{"id":`) {
		return e, errSlowPath
	}
	e.Actor.ID = p.str()
	if !p.lit(`,"role":`) {
		return e, errSlowPath
	}
	e.Actor.Role = p.intern()
	if p.lit(`,"app":`) {
		e.Actor.App = p.intern()
	}
	if !p.lit(`}`) {
		return e, errSlowPath
	}
	if p.lit(`,"correlationId":`) {
		e.CorrelationID = p.str()
	}
	if p.lit(`,"causationId":`) {
		e.CausationID = p.str()
	}
	if !p.lit(`,"data":`) {
		return e, errSlowPath
	}
	if e.Data = p.value(); !owned {
		e.Data = append(json.RawMessage(nil), e.Data...) // never alias the caller's buffer
	}
	if !p.lit(`,"prevHash":`) {
		return e, errSlowPath
	}
	prev := p.raw()
	if !p.lit(`,"hash":`) {
		return e, errSlowPath
	}
	hash := p.raw()
	if !p.bad {
		both := string(prev) + string(hash)
		e.PrevHash, e.Hash = both[:len(prev)], both[len(prev):]
	}
	if !p.lit(`}`) || p.i != len(b) || p.bad {
		return Envelope{}, errSlowPath
	}
	return e, nil
}

type parser struct {
	b   []byte
	i   int
	bad bool
}

func (p *parser) lit(s string) bool {
	if p.bad || len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// str reads a JSON string without escapes (an escape sends the whole input
// to encoding/json).
func (p *parser) str() string { return string(p.raw()) }

// raw reads a JSON string without escapes and returns its bytes, in b.
func (p *parser) raw() []byte {
	if p.bad || p.i >= len(p.b) || p.b[p.i] != '"' {
		p.bad = true
		return nil
	}
	for j := p.i + 1; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[p.i+1 : j]
			p.i = j + 1
			return s
		case c == '\\' || c < 0x20:
			p.bad = true
			return nil
		}
	}
	p.bad = true
	return nil
}

// intern reads a string as raw does and returns it interned.
func (p *parser) intern() string {
	b := p.raw()
	if p.bad {
		return ""
	}
	return interned.get(b)
}

// internMax bounds the interned values (a log with more distinct types,
// roles and apps than this decodes the rest with allocation).
const internMax = 1024

// interned holds the values of the envelope's few-valued fields.
var interned = newInterner()

// interner reads without locking (every decoded event reads it three
// times): the map is never modified once published; a new value publishes
// a copy with it.
type interner struct {
	m  atomic.Pointer[map[string]string]
	mu sync.Mutex // serializes publishers
}

func newInterner() *interner {
	in := &interner{}
	in.m.Store(&map[string]string{})
	return in
}

func (in *interner) get(b []byte) string {
	if s, ok := (*in.m.Load())[string(b)]; ok {
		return s
	}
	s := string(b)
	in.mu.Lock()
	defer in.mu.Unlock()
	cur := *in.m.Load()
	if v, ok := cur[s]; ok {
		return v
	}
	if len(cur) < internMax {
		next := make(map[string]string, len(cur)+1)
		for k, v := range cur {
			next[k] = v
		}
		next[s] = s
		in.m.Store(&next)
	}
	return s
}

func (p *parser) int() int {
	j := p.i
	for j < len(p.b) && (p.b[j] >= '0' && p.b[j] <= '9' || j == p.i && p.b[j] == '-') {
		j++
	}
	n, err := strconv.Atoi(string(p.b[p.i:j]))
	if err != nil || p.bad {
		p.bad = true
		return 0
	}
	p.i = j
	return n
}

func (p *parser) time() time.Time {
	b := p.raw()
	if p.bad {
		return time.Time{}
	}
	// time.Parse keeps nothing of its input (a numeric offset becomes an
	// unnamed zone), so the bytes are parsed in place.
	t, err := time.Parse(time.RFC3339Nano, unsafe.String(unsafe.SliceData(b), len(b)))
	if err != nil {
		p.bad = true
	}
	return t
}

// stringEnd returns the index of the quote closing the JSON string whose
// contents start at b[from], or -1 when it is not closed.
func stringEnd(b []byte, from int) int {
	for i := from; i < len(b); {
		k := bytes.IndexByte(b[i:], '"')
		if k < 0 {
			return -1
		}
		q := i + k
		n := 0 // backslashes right before the quote
		for q-1-n >= from && b[q-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return q
		}
		i = q + 1
	}
	return -1
}

// value returns the raw bytes of one JSON value (object, array, string,
// number, literal), tracking strings so braces inside them do not count.
func (p *parser) value() json.RawMessage {
	if p.bad || p.i >= len(p.b) {
		p.bad = true
		return nil
	}
	start, depth := p.i, 0
	for j := p.i; j < len(p.b); j++ {
		switch p.b[j] {
		case '"':
			// Skip the string: its end is the next quote not escaped (the
			// search for a quote is the fast part, escapes are rare).
			if j = stringEnd(p.b, j+1); j < 0 {
				p.bad = true
				return nil
			}
			if depth == 0 {
				p.i = j + 1
				return json.RawMessage(p.b[start:p.i])
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.i = j + 1
				return json.RawMessage(p.b[start:p.i])
			}
			if depth < 0 {
				p.bad = true
				return nil
			}
		case ',':
			if depth == 0 {
				p.i = j
				return json.RawMessage(p.b[start:j])
			}
		}
	}
	p.bad = true
	return nil
}
