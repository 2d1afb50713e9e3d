// Package accesslog records who read or changed which patient's data, when,
// through which endpoint (ARCHITECTURE.md decision 8: every read of a
// patient's data is itself recorded). Records go to their own JetStream
// stream, CARELOG_ACCESS (file storage, delete and purge denied), one subject
// per patient (carelog.access.<patientId>), so an auditor can list one
// patient's accesses without scanning.
//
// Contracts:
//   - Recording never sits on the request's path: the middleware hands the
//     record to a buffered queue and a writer publishes batches
//     asynchronously, as JetStream atomic batches (ADR-50) that the server
//     stores with one fsync each, a few batches in flight. When the queue is
//     full the request waits rather than the record being dropped
//     (BenchmarkPatientRead measures that bound).
//   - Records are stored in the order they were queued, except that a batch
//     retried after a failure lands after the batches sent meanwhile; a
//     retry never stores a record twice (each record has a unique id, the
//     message id).
//   - Close stops accepting records, publishes every queued one and waits for
//     the server's acknowledgements, so records are durable before shutdown
//     completes.
//   - A record holds identifiers (token id, role, route pattern, patient id,
//     request id), never request or response bodies.
package accesslog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/httpapi"
)

// Stream and subject prefix of the access log.
const (
	Stream        = "CARELOG_ACCESS"
	SubjectPrefix = "carelog.access."
)

// Record is one access.
type Record struct {
	// ID is unique per record, set by Record when empty; it is the message
	// id that makes a retried publish idempotent. (A client-supplied request
	// id cannot serve: a client reusing one would suppress its own records.)
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	PatientID string    `json:"patientId"`
	TokenID   string    `json:"tokenId"`
	Role      string    `json:"role"`
	Method    string    `json:"method"`
	Route     string    `json:"route"`
	Status    int       `json:"status"`
	RequestID string    `json:"requestId"`
	// Kind is "read" for GET and HEAD, "write" otherwise.
	Kind string `json:"kind"`
	// Target names what an audit read without a patient looked at (the
	// route's parameters, "id=batch-2025-03-1"); empty otherwise.
	Target string `json:"target,omitempty"`
}

// NoPatient is the subject token of audit reads that touch no single
// patient (a claim batch verification, the access log itself). Patient ids
// start with a letter or digit, so it cannot collide with one.
const NoPatient = "_"

// AuditPrefix is the route prefix of the audit endpoints: every request to
// them is recorded, with or without a patient (issue 6: every audit read is
// itself in the access log).
const AuditPrefix = "/v1/audit"

// Recorder queues and publishes records. Safe for concurrent use.
type Recorder struct {
	js     jetstream.JetStream
	atomic bool // the stream takes atomic batches: one fsync per batch
	log    *slog.Logger
	queue  chan Record
	done   chan struct{}
	closed sync.Once
	mu     sync.RWMutex // guards sends against Close
	shut   bool
}

const queueSize = 8192
const batchSize = 512

// Open creates the stream if needed and starts the writer.
func Open(ctx context.Context, js jetstream.JetStream, replicas int, logger *slog.Logger) (*Recorder, error) {
	if replicas < 1 {
		replicas = 1
	}
	cfg := jetstream.StreamConfig{
		Name: Stream, Description: "Carelog access log: who read or changed which patient's data",
		Subjects: []string{SubjectPrefix + "*"}, Storage: jetstream.FileStorage,
		DenyDelete: true, DenyPurge: true, AllowDirect: true, Replicas: replicas,
		AllowAtomicPublish: true,
	}
	if existing, err := js.Stream(ctx, Stream); err == nil {
		cfg.Replicas = existing.CachedInfo().Config.Replicas
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("accesslog.Open: %w", err)
	}
	r := &Recorder{js: js, log: logger, queue: make(chan Record, queueSize), done: make(chan struct{}),
		atomic: s.CachedInfo().Config.AllowAtomicPublish} // servers before 2.12 ignore the setting
	if !r.atomic {
		logger.Warn("the NATS server does not take atomic batches: access records are stored one fsync each")
	}
	go r.write()
	return r, nil
}

// Record queues rec. After Close it is dropped with a warning.
func (r *Recorder) Record(rec Record) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.shut {
		r.log.Warn("access record after shutdown dropped", "route", rec.Route)
		return
	}
	if rec.ID == "" {
		rec.ID = newID()
	}
	r.queue <- rec
}

// write drains the queue in batches. Batches are pipelined: a batch is
// published while earlier ones await their acknowledgements (at most
// inFlight batches), so the recorder keeps pace with the server's durable
// publish rate instead of stopping after each batch.
func (r *Recorder) write() {
	defer close(r.done)
	pending := make(chan sent, inFlight)
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		for p := range pending {
			r.await(p)
		}
	}()
	for rec := range r.queue {
		batch := make([]Record, 1, batchSize)
		batch[0] = rec
	fill:
		for len(batch) < batchSize {
			select {
			case more, ok := <-r.queue:
				if !ok {
					break fill
				}
				batch = append(batch, more)
			default:
				break fill
			}
		}
		pending <- r.send(batch)
	}
	close(pending)
	<-acked
}

// inFlight bounds the batches awaiting acknowledgement.
const inFlight = 4

// sent is a published batch and its acknowledgements: commit for an atomic
// batch, else futures (futures[i] is nil when records[i] could not even be
// sent).
type sent struct {
	records []Record
	futures []jetstream.PubAckFuture
	commit  chan error
}

func (r *Recorder) send(batch []Record) sent {
	if r.atomic {
		return r.sendAtomic(batch)
	}
	s := sent{records: batch, futures: make([]jetstream.PubAckFuture, len(batch))}
	for i, rec := range batch {
		f, err := r.publishAsync(rec)
		if err != nil {
			continue // retried by await
		}
		s.futures[i] = f
	}
	return s
}

func (r *Recorder) publishAsync(rec Record) (jetstream.PubAckFuture, error) {
	// The message id makes a retried record a no-op.
	return r.js.PublishMsgAsync(message(rec))
}

func message(rec Record) *nats.Msg {
	data, _ := json.Marshal(rec)
	subject := SubjectPrefix + rec.PatientID
	if rec.PatientID == "" {
		subject = SubjectPrefix + NoPatient
	}
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, rec.ID)
	return m
}

// sendAtomic publishes the batch as one atomic batch (ADR-50): the server
// stores all of it or none, with one fsync for the whole batch, and
// acknowledges the commit message only once it is durable. A retry of a
// stored batch is refused as a duplicate (the records' ids are unique),
// which await counts as stored.
func (r *Recorder) sendAtomic(batch []Record) sent {
	s := sent{records: batch, commit: make(chan error, 1)}
	nc := r.js.Conn()
	id := newID()
	for i, rec := range batch {
		m := message(rec)
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(batch)-1 {
			if err := nc.PublishMsg(m); err != nil {
				s.commit <- err
				return s
			}
			continue
		}
		m.Header.Set("Nats-Batch-Commit", "1")
		// The commit is sent here, in order behind the batch's messages and
		// the previous batches (records keep their order in the stream);
		// only its acknowledgement is awaited elsewhere.
		m.Reply = nc.NewRespInbox()
		sub, err := nc.SubscribeSync(m.Reply)
		if err != nil {
			s.commit <- err
			return s
		}
		if err := nc.PublishMsg(m); err != nil {
			sub.Unsubscribe()
			s.commit <- err
			return s
		}
		go func() {
			defer sub.Unsubscribe()
			s.commit <- commitResult(sub.NextMsg(30 * time.Second))
		}()
	}
	return s
}

// commitResult reads an atomic batch's acknowledgement.
func commitResult(reply *nats.Msg, err error) error {
	if err != nil {
		return err
	}
	var ack struct {
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &ack); err != nil {
		return fmt.Errorf("atomic batch acknowledgement: %w", err)
	}
	if ack.Error == nil || strings.Contains(strings.ToLower(ack.Error.Description), "duplicate") {
		return nil // stored now, or by an earlier attempt of this batch
	}
	return fmt.Errorf("atomic batch refused: %s (%d)", ack.Error.Description, ack.Error.ErrCode)
}

// newID returns 128 random bits in hex.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// await waits for a batch's acknowledgements and retries the records that
// were not stored (the message id makes a retry of a stored record a
// no-op), backing off between attempts.
func (r *Recorder) await(s sent) {
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for attempt := 0; ; attempt++ {
		if s.commit != nil {
			var err error
			select {
			case err = <-s.commit:
			case <-timeout.C:
				err = errors.New("no acknowledgement within 30s")
			}
			if err == nil {
				return
			}
			if attempt >= 5 {
				r.log.Error("access records could not be stored", "count", len(s.records), "err", err)
				return
			}
			<-time.After(time.Duration(attempt+1) * 200 * time.Millisecond)
			s = r.send(s.records)
			timeout.Reset(30 * time.Second)
			continue
		}
		var failed []Record
		for i, f := range s.futures {
			if f == nil {
				failed = append(failed, s.records[i])
				continue
			}
			select {
			case <-f.Ok():
			case <-f.Err():
				failed = append(failed, s.records[i])
			case <-timeout.C:
				failed = append(failed, s.records[i:]...)
				s.futures = s.futures[:i]
			}
		}
		if len(failed) == 0 {
			return
		}
		if attempt >= 5 {
			r.log.Error("access records could not be stored", "count", len(failed))
			return
		}
		<-time.After(time.Duration(attempt+1) * 200 * time.Millisecond) // back off before retrying
		s = r.send(failed)
		timeout.Reset(30 * time.Second)
	}
}

// Close publishes every queued record and waits for them to be stored, or
// for ctx.
func (r *Recorder) Close(ctx context.Context) error {
	r.closed.Do(func() {
		r.mu.Lock()
		r.shut = true
		close(r.queue)
		r.mu.Unlock()
	})
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("accesslog.Close: %w", ctx.Err())
	}
}

const keyPatient = "carelog.accesslog.patient"

// SetPatient names the patient a request touched when the route does not
// carry it (GET /v1/time-entries/:id, say). Handlers call it.
func SetPatient(c echo.Context, patientID string) { c.Set(keyPatient, patientID) }

// Middleware records every authenticated request that touched a patient: a
// route with a patient path parameter (:id under /v1/patients, or
// :patientId), or one whose handler called SetPatient. Mount it after
// authentication.
func (r *Recorder) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err != nil {
				c.Error(err) // answer now, so the record has the real status
			}
			pid, _ := c.Get(keyPatient).(string)
			if pid == "" {
				pid = c.Param("patientId")
			}
			if pid == "" && strings.HasPrefix(c.Path(), "/v1/patients/:id") {
				pid = c.Param("id")
			}
			audit := strings.HasPrefix(c.Path(), AuditPrefix)
			var target string
			if pid != "" && !events.ValidID(pid) {
				pid = ""
			}
			if pid == "" && !audit {
				return nil
			}
			if pid == "" {
				var params []string
				for i, n := range c.ParamNames() {
					if v := c.ParamValues(); i < len(v) {
						params = append(params, n+"="+v[i])
					}
				}
				target = strings.Join(params, "&")
			}
			p, _ := auth.FromContext(c)
			kind := "write"
			if m := c.Request().Method; m == "GET" || m == "HEAD" {
				kind = "read"
			}
			r.Record(Record{
				At: time.Now().UTC(), PatientID: pid, TokenID: p.TokenID, Role: string(p.Role),
				Method: c.Request().Method, Route: c.Path(), Status: c.Response().Status,
				RequestID: httpapi.RequestIDOf(c), Kind: kind, Target: target,
			})
			return nil
		}
	}
}
