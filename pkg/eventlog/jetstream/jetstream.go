// Package jetstream implements eventlog.Log on NATS JetStream.
//
// Layout (ARCHITECTURE.md decision 1): one stream (default CARELOG), file
// storage, DenyDelete and DenyPurge, no age or size limit, a duplicate window
// for idempotent appends. A stream key "patient.p-1" maps to the subject
// "<prefix>.patient.p-1" (one subject per patient: reading one patient's
// history is a single-subject read); the event type and version travel in the
// Carelog-Type and Carelog-Version headers as well as in the envelope.
//
// Append uses Nats-Msg-Id = event id (deduplication) and
// Nats-Expected-Last-Subject-Sequence (optimistic concurrency); the server
// checks both atomically, so the hash chain can never fork.
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// Header names carried by every event message.
const (
	HeaderType    = "Carelog-Type"
	HeaderVersion = "Carelog-Version"
)

// Config configures the log.
type Config struct {
	// Stream is the JetStream stream name (default "CARELOG").
	Stream string
	// SubjectPrefix prefixes every subject (default "carelog").
	SubjectPrefix string
	// Categories are the allowed first tokens of stream keys (default
	// patient, practice, batch). Each becomes subjects "<prefix>.<cat>" and
	// "<prefix>.<cat>.*" of the stream.
	Categories []string
	// DuplicateWindow is how long an event id is remembered for idempotent
	// appends (default 2h). Services also keep their own idempotency indexes
	// for retries beyond it.
	DuplicateWindow time.Duration
	// Replicas is the stream's replication factor when Open creates it
	// (default 1; use 3 on a cluster: a single node relies on SyncAlways
	// instead). Zero keeps an existing stream's replicas.
	Replicas int
}

func (c *Config) defaults() {
	if c.Stream == "" {
		c.Stream = "CARELOG"
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = "carelog"
	}
	if len(c.Categories) == 0 {
		c.Categories = []string{"patient", "practice", "batch"}
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 2 * time.Hour
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
}

// Log is the JetStream event log. Safe for concurrent use.
type Log struct {
	cfg    Config
	js     natsjs.JetStream
	stream natsjs.Stream
	cats   map[string]bool

	mu   sync.Mutex
	last map[string]tip // stream key → last appended event, a cache only

	replies replies // answers to direct gets
}

type tip struct {
	seq  uint64
	hash string
}

const maxTips = 1 << 20

// Open creates the stream if needed (or checks an existing one keeps the
// immutability settings) and returns the log. nc stays owned by the caller.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Log, error) {
	keepReplicas := cfg.Replicas == 0
	cfg.defaults()
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, errs.Wrap("jetstream.Open", errs.Unavailable, err)
	}
	subjects := make([]string, 0, 2*len(cfg.Categories))
	cats := map[string]bool{}
	for _, c := range cfg.Categories {
		subjects = append(subjects, cfg.SubjectPrefix+"."+c, cfg.SubjectPrefix+"."+c+".*")
		cats[c] = true
	}
	sc := natsjs.StreamConfig{
		Name:              cfg.Stream,
		Description:       "Carelog event log of record: immutable, append-only",
		Subjects:          subjects,
		Storage:           natsjs.FileStorage,
		Retention:         natsjs.LimitsPolicy,
		MaxAge:            0,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxMsgsPerSubject: -1,
		Discard:           natsjs.DiscardNew,
		DenyDelete:        true,
		DenyPurge:         true,
		AllowDirect:       true,
		Duplicates:        cfg.DuplicateWindow,
		Replicas:          cfg.Replicas,
	}
	if keepReplicas {
		if existing, err := js.Stream(ctx, cfg.Stream); err == nil {
			sc.Replicas = existing.CachedInfo().Config.Replicas
		}
	}
	stream, err := js.CreateOrUpdateStream(ctx, sc)
	if err != nil {
		return nil, errs.Wrap("jetstream.Open", errs.Unavailable, fmt.Errorf("stream %s: %w", cfg.Stream, err))
	}
	info := stream.CachedInfo()
	if !info.Config.DenyDelete || !info.Config.DenyPurge || info.Config.MaxAge != 0 {
		return nil, errs.E("jetstream.Open", errs.Internal, "stream %s allows deletion or expiry; refusing to use it as the log of record", cfg.Stream)
	}
	return &Log{cfg: cfg, js: js, stream: stream, cats: cats, last: map[string]tip{}}, nil
}

// Subject returns the NATS subject of a stream key.
func (l *Log) Subject(stream string) string { return l.cfg.SubjectPrefix + "." + stream }

// StreamName is the JetStream stream holding the log.
func (l *Log) StreamName() string { return l.cfg.Stream }

func (l *Log) streamKey(subject string) string {
	return strings.TrimPrefix(subject, l.cfg.SubjectPrefix+".")
}

const appendRetries = 16

// Append implements eventlog.Log.
func (l *Log) Append(ctx context.Context, expected eventlog.Revision, e events.Envelope) (eventlog.AppendResult, error) {
	const op = "eventlog.Append"
	if err := e.Validate(); err != nil {
		return eventlog.AppendResult{}, &errs.Error{Op: op, Kind: errs.Invalid, Message: err.Error(), Err: err}
	}
	cat, _, _ := strings.Cut(e.Stream, ".")
	if !l.cats[cat] {
		return eventlog.AppendResult{}, errs.E(op, errs.Invalid, "stream %q: unknown category %q", e.Stream, cat)
	}
	for attempt := 0; ; attempt++ {
		res, err := l.appendOnce(ctx, expected, e)
		var ce *eventlog.ConflictError
		if expected == eventlog.Any && errors.As(err, &ce) && attempt < appendRetries {
			continue // someone appended between our read of the tip and our write
		}
		return res, err
	}
}

func (l *Log) appendOnce(ctx context.Context, expected eventlog.Revision, e events.Envelope) (eventlog.AppendResult, error) {
	const op = "eventlog.Append"
	subject := l.Subject(e.Stream)
	cur, err := l.tip(ctx, e.Stream, expected)
	if err != nil {
		return eventlog.AppendResult{}, err
	}
	if expected != eventlog.Any && eventlog.Revision(cur.seq) != expected {
		// A stale revision may still be the retry of a stored event.
		if res, ok, err := l.findDuplicate(ctx, e, expected); err != nil || ok {
			return res, err
		}
		return eventlog.AppendResult{}, conflict(e.Stream, expected)
	}
	if err := e.Seal(cur.hash); err != nil {
		return eventlog.AppendResult{}, &errs.Error{Op: op, Kind: errs.Invalid, Message: err.Error(), Err: err}
	}
	body, err := e.Encode()
	if err != nil {
		return eventlog.AppendResult{}, errs.Wrap(op, errs.Internal, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = body
	msg.Header.Set(HeaderType, string(e.Type))
	msg.Header.Set(HeaderVersion, strconv.Itoa(e.Version))
	ack, err := l.js.PublishMsg(ctx, msg,
		natsjs.WithMsgID(e.ID),
		natsjs.WithExpectStream(l.cfg.Stream),
		natsjs.WithExpectLastSequencePerSubject(cur.seq))
	if err != nil {
		var apiErr *natsjs.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequenceConstant) {
			l.forget(e.Stream)
			if expected != eventlog.Any {
				if res, ok, derr := l.findDuplicate(ctx, e, expected); derr != nil || ok {
					return res, derr
				}
			}
			return eventlog.AppendResult{}, conflict(e.Stream, expected)
		}
		return eventlog.AppendResult{}, errs.Wrap(op, errs.Unavailable, err)
	}
	if ack.Duplicate {
		return l.original(ctx, ack.Sequence)
	}
	l.remember(e.Stream, tip{seq: ack.Sequence, hash: e.Hash})
	return eventlog.AppendResult{Sequence: ack.Sequence, Event: e}, nil
}

// findDuplicate looks for an already stored event with e's id among the
// stream's events after expected. A retried append whose original won (the
// client lost the reply) is found there: the original was appended against
// the same expected revision. The server checks the expected revision before
// its dedupe table, so a stale retry needs this look-up to be idempotent
// beyond the stream's tip. The scan is bounded by the events appended since.
func (l *Log) findDuplicate(ctx context.Context, e events.Envelope, expected eventlog.Revision) (eventlog.AppendResult, bool, error) {
	subject := l.Subject(e.Stream)
	for seq := uint64(expected) + 1; ; {
		raw, err := l.stream.GetMsg(ctx, seq, natsjs.WithGetMsgSubject(subject))
		if errors.Is(err, natsjs.ErrMsgNotFound) {
			return eventlog.AppendResult{}, false, nil
		}
		if err != nil {
			return eventlog.AppendResult{}, false, errs.Wrap("eventlog.Append", errs.Unavailable, err)
		}
		if raw.Header.Get(nats.MsgIdHdr) == e.ID {
			rec, err := l.decode(raw.Sequence, raw.Data)
			if err != nil {
				return eventlog.AppendResult{}, false, err
			}
			return eventlog.AppendResult{Sequence: raw.Sequence, Duplicate: true, Event: rec.Envelope}, true, nil
		}
		seq = raw.Sequence + 1
	}
}

func (l *Log) original(ctx context.Context, seq uint64) (eventlog.AppendResult, error) {
	raw, err := l.stream.GetMsg(ctx, seq)
	if err != nil {
		return eventlog.AppendResult{}, errs.Wrap("eventlog.Append", errs.Unavailable, err)
	}
	rec, err := l.decode(raw.Sequence, raw.Data)
	if err != nil {
		return eventlog.AppendResult{}, err
	}
	return eventlog.AppendResult{Sequence: seq, Duplicate: true, Event: rec.Envelope}, nil
}

// tip returns the stream's last event position and hash, from the cache
// when it matches the expected revision, else from the server.
func (l *Log) tip(ctx context.Context, stream string, expected eventlog.Revision) (tip, error) {
	if expected == eventlog.NoStream {
		return tip{}, nil
	}
	if expected != eventlog.Any {
		l.mu.Lock()
		t, ok := l.last[stream]
		l.mu.Unlock()
		if ok && eventlog.Revision(t.seq) == expected {
			return t, nil
		}
	}
	raw, err := l.stream.GetLastMsgForSubject(ctx, l.Subject(stream))
	if err != nil {
		if errors.Is(err, natsjs.ErrMsgNotFound) {
			return tip{}, nil
		}
		return tip{}, errs.Wrap("eventlog.Append", errs.Unavailable, err)
	}
	rec, err := l.decode(raw.Sequence, raw.Data)
	if err != nil {
		return tip{}, err
	}
	t := tip{seq: raw.Sequence, hash: rec.Hash}
	l.remember(stream, t)
	return t, nil
}

func (l *Log) remember(stream string, t tip) {
	l.mu.Lock()
	if len(l.last) >= maxTips {
		clear(l.last)
	}
	if old, ok := l.last[stream]; !ok || old.seq < t.seq {
		l.last[stream] = t
	}
	l.mu.Unlock()
}

func (l *Log) forget(stream string) {
	l.mu.Lock()
	delete(l.last, stream)
	l.mu.Unlock()
}

func conflict(stream string, expected eventlog.Revision) error {
	return &errs.Error{Op: "eventlog.Append", Kind: errs.Conflict,
		Message: "the record changed since it was read; reload and retry",
		Err:     &eventlog.ConflictError{Stream: stream, Expected: expected}}
}

// decode decodes one stored event. data is always a message body nats.go
// allocated for that message alone,
// which nothing else writes: the record's payload aliases it
// (events.DecodeOwned) instead of copying every event of a replay.
func (l *Log) decode(seq uint64, data []byte) (eventlog.Record, error) {
	env, err := events.DecodeOwned(data)
	if err != nil {
		return eventlog.Record{}, &eventlog.IntegrityError{Sequence: seq, Err: fmt.Errorf("%w: undecodable event: %v", events.ErrTampered, err)}
	}
	return eventlog.Record{Sequence: seq, Envelope: env}, nil
}

// LastSequence implements eventlog.Log.
func (l *Log) LastSequence(ctx context.Context) (uint64, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, errs.Wrap("eventlog.LastSequence", errs.Unavailable, err)
	}
	return info.State.LastSeq, nil
}

// ReadStream implements eventlog.Log. It reads the stream's subject with
// batched direct gets (ADR-31: next_by_subj with batch), which create no
// consumer on the server: reading one patient's history costs one request
// per 1024 events, and any number of concurrent reads can run (an ordered
// consumer per read hit the server's consumer limit under load, since a
// stopped consumer lingers until its inactivity threshold). The first
// message's Nats-Num-Pending fixes how many events the iteration covers:
// the stream as it was when it was first answered.
func (l *Log) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[eventlog.Record, error] {
	return func(yield func(eventlog.Record, error) bool) {
		if !events.ValidStreamKey(stream) {
			yield(eventlog.Record{}, errs.E("eventlog.ReadStream", errs.Invalid, "stream %q is not a valid stream key", stream))
			return
		}
		var chain *events.Chain
		if from <= 1 {
			chain = &events.Chain{}
		}
		for rec, err := range l.direct(ctx, l.Subject(stream), max(from, 1)) {
			if err == nil {
				err = check(&chain, &rec)
			}
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

// directBatch is how many messages one direct get request asks for;
// directTimeout bounds the wait for a whole batch.
const (
	directBatch   = 1024
	directTimeout = 10 * time.Second
)

// direct yields the messages of subject from sequence from, in order, as
// the subject held them when the first batch was answered.
func (l *Log) direct(ctx context.Context, subject string, from uint64) iter.Seq2[eventlog.Record, error] {
	const op = "eventlog.ReadStream"
	return func(yield func(eventlog.Record, error) bool) {
		nc := l.js.Conn()
		inbox, answers, err := l.replies.open(nc)
		if err != nil {
			yield(eventlog.Record{}, errs.Wrap(op, errs.Unavailable, err))
			return
		}
		defer l.replies.close(inbox)
		api := "$JS.API.DIRECT.GET." + l.cfg.Stream
		remaining := int64(-1) // unknown until the first message
		next := from
		var req []byte
		timeout := time.NewTimer(directTimeout)
		defer timeout.Stop()
		for remaining != 0 {
			timeout.Reset(directTimeout)
			req = fmt.Appendf(req[:0], `{"seq":%d,"next_by_subj":%q,"batch":%d}`, next, subject, directBatch)
			if err := nc.PublishRequest(api, inbox, req); err != nil {
				yield(eventlog.Record{}, errs.Wrap(op, errs.Unavailable, err))
				return
			}
		batch:
			for {
				var m *nats.Msg
				select {
				case m = <-answers:
				case <-ctx.Done():
					yield(eventlog.Record{}, errs.Wrap(op, errs.Unavailable, ctx.Err()))
					return
				case <-timeout.C:
					yield(eventlog.Record{}, errs.E(op, errs.Unavailable, "direct get %s: no answer within %s", subject, directTimeout))
					return
				}
				switch status := m.Header.Get("Status"); status {
				case "":
				case "404":
					return // no (more) messages on the subject
				case "204":
					if m.Header.Get("Nats-Num-Pending") == "0" {
						return
					}
					break batch // end of this batch: ask for the next one
				default:
					yield(eventlog.Record{}, errs.E(op, errs.Unavailable, "direct get %s: status %s %s", subject, status, m.Header.Get("Description")))
					return
				}
				seq, err := strconv.ParseUint(m.Header.Get(natsjs.SequenceHeader), 10, 64)
				if err != nil {
					yield(eventlog.Record{}, errs.E(op, errs.Internal, "direct get %s: bad sequence header %q", subject, m.Header.Get(natsjs.SequenceHeader)))
					return
				}
				if remaining < 0 {
					pending, err := strconv.ParseInt(m.Header.Get("Nats-Num-Pending"), 10, 64)
					if err != nil {
						yield(eventlog.Record{}, errs.E(op, errs.Internal, "direct get %s: bad Nats-Num-Pending %q", subject, m.Header.Get("Nats-Num-Pending")))
						return
					}
					remaining = pending + 1
				}
				next = seq + 1
				rec, err := l.decode(seq, m.Data)
				if err != nil {
					yield(eventlog.Record{}, &errs.Error{Op: op, Kind: errs.Internal, Err: err})
					return
				}
				if got := m.Header.Get(natsjs.SubjectHeader); got != subject || rec.Stream != l.streamKey(subject) {
					err := &eventlog.IntegrityError{Sequence: rec.Sequence, EventID: rec.ID, Stream: rec.Stream,
						Err: fmt.Errorf("%w: event of stream %s stored on subject %s", events.ErrChainBroken, rec.Stream, got)}
					yield(rec, &errs.Error{Op: op, Kind: errs.Internal, Err: err})
					return
				}
				if !yield(rec, nil) {
					return
				}
				if remaining--; remaining == 0 {
					return
				}
			}
		}
	}
}

// replies routes direct-get answers to their readers through one wildcard
// subscription per log (no SUB and UNSUB per read): each read gets an inbox
// token and a channel.
type replies struct {
	mu      sync.Mutex
	prefix  string // "<inbox>." of the wildcard subscription
	sub     *nats.Subscription
	readers map[string]chan *nats.Msg
	n       uint64
}

// open returns a new reply subject and the channel its answers arrive on.
// The channel holds a whole batch and its end-of-batch status, so the
// subscription never blocks on a reader as long as each reader asks for
// the next batch only after draining the previous one.
func (r *replies) open(nc *nats.Conn) (string, chan *nats.Msg, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sub == nil || !r.sub.IsValid() {
		r.prefix = nc.NewRespInbox() + "."
		r.readers = map[string]chan *nats.Msg{}
		sub, err := nc.Subscribe(r.prefix+"*", r.route)
		if err != nil {
			return "", nil, err
		}
		r.sub = sub
	}
	r.n++
	inbox := r.prefix + strconv.FormatUint(r.n, 36)
	ch := make(chan *nats.Msg, directBatch+1)
	r.readers[inbox] = ch
	return inbox, ch, nil
}

func (r *replies) route(m *nats.Msg) {
	r.mu.Lock()
	ch := r.readers[m.Subject]
	r.mu.Unlock()
	if ch == nil {
		return // the reader has finished: a batch's tail is dropped
	}
	select {
	case ch <- m:
	default: // cannot happen while readers follow open's rule; never block the others
	}
}

func (r *replies) close(inbox string) {
	r.mu.Lock()
	delete(r.readers, inbox)
	r.mu.Unlock()
}

// check verifies rec against the chain; a nil chain (reading from the middle
// of a stream) is started from rec's own PrevHash after checking its hash.
func check(chain **events.Chain, rec *eventlog.Record) error {
	if *chain == nil {
		if err := rec.Verify(); err != nil {
			return integrity(rec, err)
		}
		*chain = events.ResumeChain(rec.Hash)
		return nil
	}
	if err := (*chain).Next(&rec.Envelope); err != nil {
		return integrity(rec, err)
	}
	return nil
}

func integrity(rec *eventlog.Record, err error) error {
	return &errs.Error{Op: "eventlog.Read", Kind: errs.Internal,
		Err: &eventlog.IntegrityError{Sequence: rec.Sequence, EventID: rec.ID, Stream: rec.Stream, Err: err}}
}

// ReadAll implements eventlog.Log.
func (l *Log) ReadAll(ctx context.Context, from uint64) iter.Seq2[eventlog.Record, error] {
	return func(yield func(eventlog.Record, error) bool) {
		end, err := l.LastSequence(ctx)
		if err != nil {
			yield(eventlog.Record{}, err)
			return
		}
		if end == 0 || from > end {
			return
		}
		v := newVerifier(from)
		for rec, err := range l.consume(ctx, nil, from, end) {
			if err == nil {
				err = v.check(&rec)
			}
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

// Subscribe implements eventlog.Log.
func (l *Log) Subscribe(ctx context.Context, from uint64, fn func(eventlog.Record) error) error {
	v := newVerifier(from)
	for rec, err := range l.consume(ctx, nil, from, 0) {
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := v.check(&rec); err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// verifier checks each event's hash and, for streams whose chain it has
// seen from the start (or whose previous event it has seen), the links.
type verifier struct {
	fromStart bool
	chains    map[string]*events.Chain
	// The chain of the last event's stream: a stream's events often come
	// in runs, which then skip the map.
	lastStream string
	last       *events.Chain
}

func newVerifier(from uint64) *verifier {
	return &verifier{fromStart: from <= 1, chains: map[string]*events.Chain{}}
}

func (v *verifier) check(rec *eventlog.Record) error {
	if v.last != nil && rec.Stream == v.lastStream {
		if err := check(&v.last, rec); err != nil {
			return err
		}
		return nil
	}
	c, ok := v.chains[rec.Stream]
	if !ok && v.fromStart {
		c = &events.Chain{}
	}
	if err := check(&c, rec); err != nil {
		return err
	}
	if !ok {
		v.chains[rec.Stream] = c
	}
	v.lastStream, v.last = rec.Stream, c
	return nil
}

// consume yields raw records of the given subjects (all when nil) from
// sequence from, in order, through an ordered consumer; it ends after the
// record at end (0: never, until ctx is done).
func (l *Log) consume(ctx context.Context, subjects []string, from, end uint64) iter.Seq2[eventlog.Record, error] {
	return func(yield func(eventlog.Record, error) bool) {
		cfg := natsjs.OrderedConsumerConfig{FilterSubjects: subjects, InactiveThreshold: 30 * time.Second}
		if from > 1 {
			cfg.DeliverPolicy = natsjs.DeliverByStartSequencePolicy
			cfg.OptStartSeq = from
		}
		cons, err := l.js.OrderedConsumer(ctx, l.cfg.Stream, cfg)
		if err != nil {
			yield(eventlog.Record{}, errs.Wrap("eventlog.Read", errs.Unavailable, err))
			return
		}
		msgs, err := cons.Messages(natsjs.PullMaxMessages(1024))
		if err != nil {
			yield(eventlog.Record{}, errs.Wrap("eventlog.Read", errs.Unavailable, err))
			return
		}
		defer msgs.Stop()
		stop := context.AfterFunc(ctx, msgs.Stop)
		defer stop()
		for {
			m, err := msgs.Next()
			if err != nil {
				if ctx.Err() != nil {
					yield(eventlog.Record{}, errs.Wrap("eventlog.Read", errs.Unavailable, ctx.Err()))
					return
				}
				yield(eventlog.Record{}, errs.Wrap("eventlog.Read", errs.Unavailable, err))
				return
			}
			seq, err := streamSequence(m.Reply())
			if err != nil {
				yield(eventlog.Record{}, errs.Wrap("eventlog.Read", errs.Internal, err))
				return
			}
			rec, err := l.decode(seq, m.Data())
			if err != nil {
				yield(eventlog.Record{}, &errs.Error{Op: "eventlog.Read", Kind: errs.Internal, Err: err})
				return
			}
			if rec.Stream != l.streamKey(m.Subject()) {
				err := &eventlog.IntegrityError{Sequence: rec.Sequence, EventID: rec.ID, Stream: rec.Stream,
					Err: fmt.Errorf("%w: event of stream %s stored on subject %s", events.ErrChainBroken, rec.Stream, m.Subject())}
				yield(rec, &errs.Error{Op: "eventlog.Read", Kind: errs.Internal, Err: err})
				return
			}
			if !yield(rec, nil) {
				return
			}
			if end != 0 && seq >= end {
				return
			}
		}
	}
}

// streamSequence is the stream sequence of a message a consumer delivered,
// read from its reply subject as jetstream.Msg.Metadata reads it, without
// the rest of the metadata (a replay reads every event's):
//
//	v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>
//	v2: $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>[.<token>...]
func streamSequence(reply string) (uint64, error) {
	const prefix = "$JS.ACK."
	tokens := strings.Count(reply, ".") + 1
	pos := 7 // v2
	switch {
	case !strings.HasPrefix(reply, prefix):
		return 0, fmt.Errorf("jetstream: reply subject %q is not a $JS.ACK subject", reply)
	case tokens == 9:
		pos = 5
	case tokens < 11:
		return 0, fmt.Errorf("jetstream: reply subject %q has %d tokens, want 9 or at least 11", reply, tokens)
	}
	rest := reply
	for range pos {
		_, rest, _ = strings.Cut(rest, ".")
	}
	tok, _, _ := strings.Cut(rest, ".")
	seq, err := strconv.ParseUint(tok, 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("jetstream: reply subject %q: stream sequence %q is not a positive number", reply, tok)
	}
	return seq, nil
}

// Close implements eventlog.Log. The NATS connection stays open.
func (l *Log) Close() error { return nil }

var _ eventlog.Log = (*Log)(nil)
