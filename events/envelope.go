// Package events defines the envelope every Carelog event travels in, the
// explicit catalogue of event types with their schema versions, and the pure
// upcasters that lift old versions to new ones.
//
// Contracts:
//   - An event is immutable once sealed: its Hash covers every field but Hash
//     itself, including PrevHash, so altering, dropping or reordering any event
//     of a stream breaks the chain (ARCHITECTURE.md decision 6).
//   - The wire form is JSON produced by Encode; Decode followed by Verify
//     recomputes the same hash on every platform.
//
// This module uses the standard library only.
package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Type is a stable event type name such as "consent.granted". Types are
// declared as constants in catalog.go and never derived from Go type names.
type Type string

// Actor says who caused an event: the person or system, the role the request
// was authorized under, and the application that sent it.
type Actor struct {
	ID   string `json:"id"`
	Role string `json:"role"`
	App  string `json:"app,omitempty"`
}

// Envelope carries one event. Data holds the payload for (Type, Version) as
// raw JSON; decode it with a Registry.
type Envelope struct {
	ID            string          `json:"id"`
	Type          Type            `json:"type"`
	Version       int             `json:"version"`
	Stream        string          `json:"stream"`
	PatientID     string          `json:"patientId,omitempty"`
	OccurredAt    time.Time       `json:"occurredAt"`
	RecordedAt    time.Time       `json:"recordedAt"`
	Actor         Actor           `json:"actor"`
	CorrelationID string          `json:"correlationId,omitempty"`
	CausationID   string          `json:"causationId,omitempty"`
	Data          json.RawMessage `json:"data"`
	PrevHash      string          `json:"prevHash"`
	Hash          string          `json:"hash"`
}

// ErrInvalid is wrapped by every validation failure of an envelope.
var ErrInvalid = errors.New("invalid event")

// ErrTampered is wrapped when an event's content does not match its hash.
var ErrTampered = errors.New("event hash mismatch")

var (
	idPattern        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_\-:]{0,127}$`)
	streamKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[A-Za-z0-9][A-Za-z0-9_\-:]{0,127})?$`)
)

// Stream keys. A stream is the unit of ordering, optimistic concurrency and
// hash chaining; one patient is one stream (ARCHITECTURE.md decision 1).
const (
	// PracticeStream holds practice settings and practitioners.
	PracticeStream = "practice"
)

// PatientStream is the stream key of one patient's history.
func PatientStream(patientID string) string { return patientPrefix + patientID }

const patientPrefix = "patient."

// BatchStream is the stream key of the claim batches of one service month
// (YYYY-MM).
func BatchStream(month string) string { return "batch." + month }

// ValidID reports whether s may be used as an event, patient or entity id:
// 1 to 128 letters, digits, '-', '_' or ':', starting with a letter or digit.
// Ids become part of NATS subjects, so '.', '*', '>' and spaces are refused.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// ValidStreamKey reports whether key is a well-formed stream key: a lowercase
// category, optionally followed by '.' and one id token (any ValidID, so that
// PatientStream of a valid id is a valid key).
func ValidStreamKey(key string) bool { return streamKeyPattern.MatchString(key) }

// Validate checks the fields every envelope must carry before it is sealed.
// It reports the first problem, naming the field. Text fields and Data must be
// valid UTF-8: JSON encoding replaces invalid bytes with U+FFFD, so such an
// event would no longer verify after Encode and Decode.
func (e *Envelope) Validate() error {
	for _, f := range []struct{ name, value string }{
		{"type", string(e.Type)}, {"patientId", e.PatientID},
		{"actor.id", e.Actor.ID}, {"actor.role", e.Actor.Role}, {"actor.app", e.Actor.App},
		{"correlationId", e.CorrelationID}, {"causationId", e.CausationID},
	} {
		if !utf8.ValidString(f.value) {
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, f.name)
		}
	}
	switch {
	case !ValidID(e.ID):
		return fmt.Errorf("%w: id %q is not a valid id", ErrInvalid, e.ID)
	case e.Type == "":
		return fmt.Errorf("%w: type is required", ErrInvalid)
	case e.Version < 1:
		return fmt.Errorf("%w: version must be >= 1", ErrInvalid)
	case !ValidStreamKey(e.Stream):
		return fmt.Errorf("%w: stream %q is not a valid stream key", ErrInvalid, e.Stream)
	case e.OccurredAt.IsZero():
		return fmt.Errorf("%w: occurredAt is required", ErrInvalid)
	case e.RecordedAt.IsZero():
		return fmt.Errorf("%w: recordedAt is required", ErrInvalid)
	case e.Actor.ID == "" || e.Actor.Role == "":
		return fmt.Errorf("%w: actor id and role are required", ErrInvalid)
	case len(e.Data) == 0 || !json.Valid(e.Data) || !utf8.Valid(e.Data):
		return fmt.Errorf("%w: data must be valid JSON in UTF-8", ErrInvalid)
	}
	return nil
}

// Seal validates the envelope, canonicalizes Data (compact JSON), links it to
// prevHash (the Hash of the previous event of the same stream, "" for the
// first) and sets Hash. A time whose zone offset is not a whole number of
// minutes (historic local mean time) is converted to UTC, the same instant:
// RFC 3339 cannot write such an offset, so it would not survive Encode.
func (e *Envelope) Seal(prevHash string) error {
	if err := e.Validate(); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, e.Data); err != nil {
		return fmt.Errorf("%w: data: %v", ErrInvalid, err)
	}
	e.Data = buf.Bytes()
	e.OccurredAt = encodableTime(e.OccurredAt)
	e.RecordedAt = encodableTime(e.RecordedAt)
	e.PrevHash = prevHash
	e.Hash = e.ComputeHash()
	return nil
}

// Verify recomputes the hash and reports ErrTampered when it differs from
// Hash. It does not check the link to the previous event; see Chain.
func (e *Envelope) Verify() error {
	_, err := e.verify()
	return err
}

// verify is Verify returning the hash it computed.
func (e *Envelope) verify() ([sha256.Size]byte, error) {
	sum := e.hashSum()
	if !hashMatches(sum, e.Hash) {
		return sum, fmt.Errorf("%w: event %s: stored %s, computed %s", ErrTampered, e.ID, short(e.Hash), short(hex.EncodeToString(sum[:])))
	}
	return sum, nil
}

// ComputeHash returns the hex SHA-256 of the canonical form of every field
// except Hash. Each field is written length-prefixed, times as UTC RFC 3339
// with nanoseconds, so the hash does not depend on JSON formatting.
func (e *Envelope) ComputeHash() string {
	sum := e.hashSum()
	return hex.EncodeToString(sum[:])
}

// hashSum is the SHA-256 of the canonical form. The form is built in one
// buffer (pooled: replays hash every event) and hashed once.
func (e *Envelope) hashSum() [sha256.Size]byte {
	bp := hashBufs.Get().(*[]byte)
	b := (*bp)[:0]
	put := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	putTime := func(t time.Time) {
		var tb [64]byte
		ts := appendRFC3339NanoUTC(tb[:0], t)
		b = binary.AppendUvarint(b, uint64(len(ts)))
		b = append(b, ts...)
	}
	put("carelog.event/1")
	put(e.ID)
	put(string(e.Type))
	var vb [20]byte
	v := strconv.AppendInt(vb[:0], int64(e.Version), 10)
	b = binary.AppendUvarint(b, uint64(len(v)))
	b = append(b, v...)
	put(e.Stream)
	put(e.PatientID)
	putTime(e.OccurredAt)
	putTime(e.RecordedAt)
	put(e.Actor.ID)
	put(e.Actor.Role)
	put(e.Actor.App)
	put(e.CorrelationID)
	put(e.CausationID)
	b = binary.AppendUvarint(b, uint64(len(e.Data)))
	b = append(b, e.Data...)
	put(e.PrevHash)
	sum := sha256.Sum256(b)
	if cap(b) <= 1<<16 {
		*bp = b
		hashBufs.Put(bp)
	}
	return sum
}

// appendRFC3339NanoUTC appends t.UTC().Format(time.RFC3339Nano), byte for
// byte, several times faster (every hash check formats two times); years
// outside 0–9999 take the standard formatter.
func appendRFC3339NanoUTC(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	hour, minute, sec := t.Clock()
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}

var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// hashMatches reports whether hexHash is the lowercase hex of sum, without
// allocating.
func hashMatches(sum [sha256.Size]byte, hexHash string) bool {
	if len(hexHash) != 2*sha256.Size {
		return false
	}
	var enc [2 * sha256.Size]byte
	hex.Encode(enc[:], sum[:])
	return string(enc[:]) == hexHash
}

// Encode returns the wire form: JSON without HTML escaping, so that the
// payload bytes round-trip exactly through Decode.
func (e *Envelope) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Decode parses the wire form. It does not verify the hash. The layout
// Encode writes is parsed without reflection (replays decode every event);
// any other valid JSON envelope goes through encoding/json with the same
// result.
func Decode(b []byte) (Envelope, error) { return decode(b, false) }

// DecodeOwned is Decode for a caller that hands b over: the envelope's Data
// may alias b, which the caller must not modify afterwards (a message body
// the client library allocated for this message alone, for example).
func DecodeOwned(b []byte) (Envelope, error) { return decode(b, true) }

func decode(b []byte, owned bool) (Envelope, error) {
	if e, err := fastDecode(b, owned); err == nil {
		return e, nil
	}
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return e, nil
}

// Chain verifies the links of one stream's events read in order: each event's
// own hash and its PrevHash against the previous event's Hash. The zero value
// expects the stream's first event; Resume starts after a known event.
// A Chain is not safe for concurrent use. It keeps the last hash as its 32
// bytes, in the Chain itself: a replay checks every event against the chain
// of its stream, mostly not the last one's, and a hex string held apart is
// one more memory access out of cache per event.
type Chain struct {
	last    [sha256.Size]byte
	started bool   // last holds a hash (false: no event before)
	other   string // a resumed-from hash that is not lowercase hex SHA-256
	checked int
}

// ErrChainBroken is wrapped when an event does not link to its predecessor:
// an event was altered, removed, inserted or reordered.
var ErrChainBroken = errors.New("hash chain broken")

// ResumeChain returns a Chain that expects the event following one whose hash
// is lastHash.
func ResumeChain(lastHash string) *Chain {
	var c Chain
	if n, err := hex.Decode(c.last[:], []byte(lastHash)); err == nil && n == sha256.Size && hashMatches(c.last, lastHash) {
		c.started = true
	} else {
		c.last, c.other = [sha256.Size]byte{}, lastHash
	}
	return &c
}

// Next checks e against the chain so far and advances it.
func (c *Chain) Next(e *Envelope) error {
	sum, err := e.verify()
	if err != nil {
		return err
	}
	if !c.links(e.PrevHash) {
		return fmt.Errorf("%w: event %s links to %s, previous event is %s", ErrChainBroken, e.ID, short(e.PrevHash), short(c.Last()))
	}
	c.last, c.started, c.other = sum, true, ""
	c.checked++
	return nil
}

// links reports whether prev is the hash of the chain's last event.
func (c *Chain) links(prev string) bool {
	switch {
	case c.other != "":
		return prev == c.other
	case !c.started:
		return prev == ""
	}
	return hashMatches(c.last, prev)
}

// Checked is the number of events verified so far.
func (c *Chain) Checked() int { return c.checked }

// Last is the hash of the last verified event ("" before the first).
func (c *Chain) Last() string {
	switch {
	case c.other != "":
		return c.other
	case !c.started:
		return ""
	}
	return hex.EncodeToString(c.last[:])
}

// encodableTime returns t unchanged unless its zone offset has seconds, which
// RFC 3339 (and so JSON) would truncate, changing the instant; then t in UTC.
func encodableTime(t time.Time) time.Time {
	if _, off := t.Zone(); off%60 != 0 {
		return t.UTC()
	}
	return t
}

func short(h string) string {
	if h == "" {
		return "(start)"
	}
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
