package postgres

import (
	"encoding/binary"
	"encoding/json"
	"sync"
	"time"
)

// Binary COPY. Commit streams the large tables of a commit (patient_months,
// minute_totals, patients) to PostgreSQL in COPY's binary format, encoded
// here straight from the read-model rows into pooled byte chunks (tuples),
// rather than as a []any per row that pgx encodes value by value
// (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format").
// A rebuild writes ~330,000 patient-months and as many minute totals: in
// its profiles the boxed values took ~1.3 s of CPU against ~0.6 s this way,
// and their pointers kept the collector busy while the next batch was
// folded; a chunk holds no pointer. The values are those the []any rows of
// rows.go give pgx for the same columns (the contract suite runs both
// paths).

// copySignature starts a binary COPY stream: the 11-byte signature, the
// flags (no OIDs) and the length of the header extension area (none).
var copySignature = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyTrailer ends the stream: a tuple field count of -1.
var copyTrailer = []byte{0xff, 0xff}

// pgEpochMicros is 2000-01-01T00:00:00Z in Unix microseconds: timestamptz
// counts microseconds from there.
const pgEpochMicros = 946_684_800_000_000

// oidText is the type OID of text, the element type of a text[] column.
const oidText = 25

// tuples accumulates binary COPY tuples in chunks of copyChunk bytes taken
// from chunkPool (a tuple starts a new chunk when less than copyChunkSlack
// is left in the current one; a longer tuple grows it), so that encoding
// neither copies a growing buffer nor asks for fresh memory at every
// commit. Each method appends one field of the current tuple; begin starts
// a tuple; chunks returns the stream's chunks, which go back to the pool
// with release once copied.
type tuples struct {
	done [][]byte
	b    []byte
	enc  *json.Encoder // writes into b (Write)
}

const (
	copyChunk      = 1 << 20
	copyChunkSlack = 64 << 10
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, copyChunk); return &b }}

func (t *tuples) begin(fields int) {
	if t.b == nil || cap(t.b)-len(t.b) < copyChunkSlack {
		if t.b != nil {
			t.done = append(t.done, t.b)
		}
		t.b = (*chunkPool.Get().(*[]byte))[:0]
	}
	t.b = binary.BigEndian.AppendUint16(t.b, uint16(fields))
}

// chunks returns every chunk written, in order.
func (t *tuples) chunks() [][]byte {
	if t.b == nil {
		return t.done
	}
	return append(t.done, t.b)
}

// releaseChunks returns chunks to the pool; nothing may use them after.
func releaseChunks(chunks [][]byte) {
	for _, b := range chunks {
		if cap(b) == copyChunk {
			b = b[:0]
			chunkPool.Put(&b)
		}
	}
}

func (t *tuples) length(n int) { t.b = binary.BigEndian.AppendUint32(t.b, uint32(int32(n))) }

func (t *tuples) null() { t.length(-1) }

func (t *tuples) text(s string) {
	t.length(len(s))
	t.b = append(t.b, s...)
}

// textOrNull is text with "" as NULL (nullIfEmpty).
func (t *tuples) textOrNull(s string) {
	if s == "" {
		t.null()
		return
	}
	t.text(s)
}

func (t *tuples) int2(v int16) {
	t.length(2)
	t.b = binary.BigEndian.AppendUint16(t.b, uint16(v))
}

// int4 writes an integer column (int4: beyond its range is an error).
func (t *tuples) int4(v int) error {
	i, err := int4(v)
	if err != nil {
		return err
	}
	t.length(4)
	t.b = binary.BigEndian.AppendUint32(t.b, uint32(i))
	return nil
}

func (t *tuples) int8(v int64) {
	t.length(8)
	t.b = binary.BigEndian.AppendUint64(t.b, uint64(v))
}

// instant writes a timestamptz and its _nanos column as instant splits
// them; null writes NULL and 0 instead (instantOrNull, instantPtr).
func (t *tuples) instant(ts time.Time, null bool) {
	if null {
		t.null()
		t.int2(0)
		return
	}
	us, nanos := instant(ts)
	t.int8(us.UnixMicro() - pgEpochMicros)
	t.int2(nanos)
}

// instantPtr is instant with nil as NULL.
func (t *tuples) instantPtr(ts *time.Time) {
	if ts == nil {
		t.instant(time.Time{}, true)
		return
	}
	t.instant(*ts, false)
}

// textArray writes a one-dimensional text[] of n elements, element i being
// at(i).
func (t *tuples) textArray(n int, at func(i int) string) {
	lenAt := len(t.b)
	t.length(0) // patched below
	ndim := 1
	if n == 0 {
		ndim = 0
	}
	for _, v := range []int{ndim, 0 /* no NULLs */, oidText} {
		t.b = binary.BigEndian.AppendUint32(t.b, uint32(v))
	}
	if n > 0 {
		t.b = binary.BigEndian.AppendUint32(t.b, uint32(n))
		t.b = binary.BigEndian.AppendUint32(t.b, 1) // lower bound
		for i := range n {
			t.text(at(i))
		}
	}
	binary.BigEndian.PutUint32(t.b[lenAt:], uint32(len(t.b)-lenAt-4))
}

// json writes v as a json column: its encoding/json text (what marshal
// gives), which is also the binary form of json.
func (t *tuples) json(v any) error {
	if t.enc == nil {
		t.enc = json.NewEncoder(t)
	}
	lenAt := len(t.b)
	t.length(0) // patched below
	if err := t.enc.Encode(v); err != nil {
		t.b = t.b[:lenAt]
		return &encodeError{err}
	}
	t.b = t.b[:len(t.b)-1] // the newline Encode adds
	binary.BigEndian.PutUint32(t.b[lenAt:], uint32(len(t.b)-lenAt-4))
	return nil
}

// Write appends p (for the JSON encoder).
func (t *tuples) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	return len(p), nil
}
