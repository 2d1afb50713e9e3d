package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/errs"
)

// Bucket is the JetStream KV bucket holding the token records, one key per
// token id.
const Bucket = "carelog_tokens"

// StaticAdminID is the token id of the static admin token (WithStaticAdmin).
const StaticAdminID = "static-admin"

const (
	tokenPrefix    = "clg_"
	idBytes        = 10 // 16 base32 characters
	secretBytes    = 32 // 52 base32 characters
	maxNameRunes   = 64
	minStaticToken = 16
	// persistEvery bounds how often one token's last use is written to KV.
	persistEvery = time.Minute
	// touchQueue bounds the last-use writes waiting for the writer; beyond it
	// a write is skipped and retried on the token's next use.
	touchQueue   = 256
	writeTimeout = 5 * time.Second
)

// encoding is lower-case base32 without padding: safe in a header, a URL
// path, a NATS subject and a KV key, and free of the '_' separator.
var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Record describes a token. It never holds the secret or its hash.
type Record struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
	// LastUsedAt is null until the token is first used. It is at most a
	// minute behind in other processes than the one that served the request.
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

// stored is a record as kept in the KV bucket.
type stored struct {
	Record
	// Hash is the hex SHA-256 of the token's secret part.
	Hash string `json:"hash"`
}

// Token is a newly created token. Bearer is shown this once and never again.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
	// Bearer is the full token to send as "Authorization: Bearer <Bearer>".
	Bearer string `json:"token"`
}

// Principal is an authenticated caller.
type Principal struct {
	TokenID string `json:"tokenId"`
	Name    string `json:"name"`
	Role    Role   `json:"role"`
}

// Allowed reports whether p may act in one of roles; admin always may.
func (p Principal) Allowed(roles ...Role) bool {
	return p.Role == Admin || slices.Contains(roles, p.Role)
}

// Option configures a Store.
type Option func(*Store) error

// WithReplicas sets the replication factor of the token bucket when this
// store creates it (default 1; 3 on a NATS cluster).
func WithReplicas(n int) Option {
	return func(s *Store) error {
		if n < 0 || n > 5 {
			return errs.Field("auth.WithReplicas", "replicas", "must be between 1 and 5")
		}
		s.replicas = n
		return nil
	}
}

// WithStaticAdmin makes token an admin token for this process, as main does
// with CARELOG_ADMIN_TOKEN. Only its SHA-256 is kept. An empty token is
// ignored, so main can pass the environment value as it is; a non-empty one
// must be at least 16 printable ASCII characters without spaces.
func WithStaticAdmin(token string) Option {
	return func(s *Store) error {
		if token == "" {
			return nil
		}
		if len(token) < minStaticToken || strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			return errs.E("auth.WithStaticAdmin", errs.Invalid,
				"the static admin token must be at least %d printable ASCII characters without spaces", minStaticToken)
		}
		h := sha256.Sum256([]byte(token))
		s.staticHash = h[:]
		return nil
	}
}

// Store holds the tokens. It is safe for concurrent use.
type Store struct {
	kv         jetstream.KeyValue
	clock      func() time.Time
	staticHash []byte
	replicas   int

	mu       sync.RWMutex
	index    map[string]*entry
	watchErr error // set when the watcher stops before Close

	touches   chan string
	ctx       context.Context // lives until Close
	cancel    context.CancelFunc
	watcher   jetstream.KeyWatcher
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// entry is the index's view of one KV key. An entry is never replaced, so
// its usage counters survive updates of the record.
type entry struct {
	// Guarded by Store.mu.
	rec     stored
	rev     uint64 // KV revision rec (or the deletion) came from
	deleted bool

	lastUsed  atomic.Int64 // unix nanoseconds of the last use seen here, 0 if none
	persisted atomic.Int64 // unix nanoseconds of the last use known written (or queued)
}

// OpenStore opens (creating it if needed) the token bucket and loads every
// record before it returns. clock is the time source for createdAt,
// revokedAt and last use (nil means time.Now). ctx bounds the opening only;
// the store lives until Close.
func OpenStore(ctx context.Context, js jetstream.JetStream, clock func() time.Time, opts ...Option) (*Store, error) {
	const op = "auth.OpenStore"
	if clock == nil {
		clock = time.Now
	}
	s := &Store{clock: clock, index: make(map[string]*entry), touches: make(chan string, touchQueue)}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	kv, err := openBucket(ctx, js, s.replicas)
	if err != nil {
		return nil, errs.Wrap(op, errs.Unavailable, err)
	}
	s.kv = kv
	s.ctx, s.cancel = context.WithCancel(context.Background())
	w, err := kv.WatchAll(s.ctx)
	if err != nil {
		s.cancel()
		return nil, errs.Wrap(op, errs.Unavailable, fmt.Errorf("watching %s: %w", Bucket, err))
	}
	s.watcher = w
	ready, done := make(chan struct{}), make(chan struct{})
	s.wg.Add(2)
	go s.watch(w, ready, done)
	go s.writeLastUse()
	select {
	case <-ready:
		return s, nil
	case <-done:
		s.Close()
		return nil, errs.E(op, errs.Unavailable, "the token watcher stopped before loading the tokens")
	case <-ctx.Done():
		s.Close()
		return nil, errs.Wrap(op, errs.Unavailable, ctx.Err())
	}
}

func openBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return kv, err
	}
	// Created once; an existing bucket's configuration (replicas set by an
	// operator, say) is never overwritten.
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Carelog API tokens (hashed)",
		History:     5,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) { // another process won the race
		return js.KeyValue(ctx, Bucket)
	}
	return kv, err
}

// Close stops the watcher and the last-use writer. Last uses not yet
// written are dropped (they are at most a minute old). Safe to call more
// than once.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.watcher != nil {
			_ = s.watcher.Stop() // fails only when the connection is already closed
		}
		s.wg.Wait()
	})
}

// watch feeds the index from the KV watcher until the watcher stops.
func (s *Store) watch(w jetstream.KeyWatcher, ready, done chan<- struct{}) {
	defer s.wg.Done()
	defer close(done)
	loaded := false
	for kve := range w.Updates() {
		if kve == nil { // every existing record delivered
			if !loaded {
				loaded = true
				close(ready)
			}
			continue
		}
		if kve.Operation() != jetstream.KeyValuePut {
			s.apply(kve.Key(), kve.Revision(), nil)
			continue
		}
		var rec stored
		if err := json.Unmarshal(kve.Value(), &rec); err != nil || rec.ID != kve.Key() {
			// Unreadable: fail closed, as if deleted.
			s.apply(kve.Key(), kve.Revision(), nil)
			continue
		}
		s.apply(kve.Key(), kve.Revision(), &rec)
	}
	if s.ctx.Err() == nil {
		s.mu.Lock()
		s.watchErr = errors.New("the token watcher stopped")
		s.mu.Unlock()
	}
}

// apply records revision rev of key id (rec nil: deleted). Older revisions
// than the one held are ignored: local writes are applied at once and the
// watcher may deliver an older one after them.
func (s *Store) apply(id string, rev uint64, rec *stored) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.index[id]
	if e == nil {
		e = &entry{}
		s.index[id] = e
	} else if rev <= e.rev {
		return
	}
	e.rev = rev
	if rec == nil {
		e.deleted, e.rec = true, stored{}
		return
	}
	e.deleted, e.rec = false, *rec
	if rec.LastUsedAt != nil {
		storeMax(&e.persisted, rec.LastUsedAt.UnixNano())
	}
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// Create makes a token for role named name (1 to 64 characters, not blank,
// no control characters) and returns it with its secret, which is not kept.
// Errors: Invalid naming "role" or "name"; Unavailable when the bucket cannot
// be written.
func (s *Store) Create(ctx context.Context, role Role, name string) (Token, error) {
	const op = "auth.Create"
	if _, err := ParseRole(string(role)); err != nil {
		return Token{}, errs.Field(op, "role", "must be one of %s", joinRoles(allRoles, ", "))
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > maxNameRunes || strings.TrimSpace(name) == "" ||
		strings.ContainsFunc(name, unicode.IsControl) {
		return Token{}, errs.Field(op, "name", "must be 1 to %d characters, not blank, without control characters", maxNameRunes)
	}
	id, secret := random(idBytes), random(secretBytes)
	rec := stored{
		Record: Record{ID: id, Name: name, Role: role, CreatedAt: s.clock().UTC()},
		Hash:   hashSecret(secret),
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return Token{}, errs.Wrap(op, errs.Internal, err)
	}
	rev, err := s.kv.Create(ctx, id, data)
	if err != nil {
		return Token{}, errs.Wrap(op, errs.Unavailable, err)
	}
	s.apply(id, rev, &rec)
	return Token{ID: id, Name: name, Role: role, CreatedAt: rec.CreatedAt, Bearer: tokenPrefix + id + "_" + secret}, nil
}

// List returns every token record, revoked ones included, oldest first, with
// the last use seen by this process. It never returns secrets or hashes.
func (s *Store) List(ctx context.Context) ([]Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Record, 0, len(s.index))
	for _, e := range s.index {
		if e.deleted {
			continue
		}
		r := e.rec.Record
		if lu := e.lastUsed.Load(); lu != 0 && (r.LastUsedAt == nil || lu > r.LastUsedAt.UnixNano()) {
			t := time.Unix(0, lu).UTC()
			r.LastUsedAt = &t
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Revoke revokes token id at once in this process, and in the others as soon
// as their watchers deliver the change. Revoking a revoked token changes
// nothing. Errors: NotFound for an unknown id (the static admin token cannot
// be revoked: it is removed from the environment); Unavailable when the
// bucket cannot be written.
func (s *Store) Revoke(ctx context.Context, id string) error {
	const op = "auth.Revoke"
	if !validID(id) {
		return errs.E(op, errs.NotFound, "no token has this id")
	}
	for range 5 {
		kve, err := s.kv.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			return errs.E(op, errs.NotFound, "no token has this id")
		}
		if err != nil {
			return errs.Wrap(op, errs.Unavailable, err)
		}
		var rec stored
		if err := json.Unmarshal(kve.Value(), &rec); err != nil {
			return errs.Wrap(op, errs.Internal, fmt.Errorf("token %s: %w", id, err))
		}
		if rec.RevokedAt == nil {
			now := s.clock().UTC()
			rec.RevokedAt = &now
		} else {
			s.apply(id, kve.Revision(), &rec)
			return nil
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return errs.Wrap(op, errs.Internal, err)
		}
		rev, err := s.kv.Update(ctx, id, data, kve.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // a last-use write got in between: read again
		}
		if err != nil {
			return errs.Wrap(op, errs.Unavailable, err)
		}
		s.apply(id, rev, &rec)
		return nil
	}
	return errs.E(op, errs.Unavailable, "the token kept changing; retry")
}

// HasAdmin reports whether an admin can sign in: a static admin token is
// configured, or the store holds an admin token that is not revoked.
func (s *Store) HasAdmin() bool {
	if s.staticHash != nil {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.index {
		if !e.deleted && e.rec.Role == Admin && e.rec.RevokedAt == nil {
			return true
		}
	}
	return false
}

// Authenticate returns the caller that bearer identifies. It reads only
// memory; the last use it records is written to KV later (see the package
// doc). Errors: Unauthorized for an unknown, malformed, wrong or revoked
// token; Unavailable when the watcher has stopped, so revocations could be
// missed (the static admin token still works then).
func (s *Store) Authenticate(bearer string) (Principal, error) {
	const op = "auth.Authenticate"
	if s.staticHash != nil {
		h := sha256.Sum256([]byte(bearer))
		if subtle.ConstantTimeCompare(h[:], s.staticHash) == 1 {
			return Principal{TokenID: StaticAdminID, Name: "CARELOG_ADMIN_TOKEN", Role: Admin}, nil
		}
	}
	id, secret, ok := parseToken(bearer)
	if !ok {
		return Principal{}, &errs.Error{Op: op, Kind: errs.Unauthorized}
	}
	s.mu.RLock()
	e, werr := s.index[id], s.watchErr
	var rec stored
	if e != nil && !e.deleted {
		rec = e.rec
	}
	s.mu.RUnlock()
	if werr != nil {
		return Principal{}, errs.Wrap(op, errs.Unavailable, werr)
	}
	if rec.Hash == "" || subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(rec.Hash)) != 1 {
		return Principal{}, &errs.Error{Op: op, Kind: errs.Unauthorized}
	}
	if rec.RevokedAt != nil {
		return Principal{}, errs.E(op, errs.Unauthorized, "this bearer token has been revoked")
	}
	s.touch(id, e)
	return Principal{TokenID: rec.ID, Name: rec.Name, Role: rec.Role}, nil
}

// touch records a use of token id and, when its last written use is a
// minute old or more, queues a write without waiting.
func (s *Store) touch(id string, e *entry) {
	now := s.clock().UnixNano()
	storeMax(&e.lastUsed, now)
	last := e.persisted.Load()
	if now-last < int64(persistEvery) || !e.persisted.CompareAndSwap(last, now) {
		return
	}
	select {
	case s.touches <- id:
	default: // queue full: forget it, the next use retries
		e.persisted.CompareAndSwap(now, last)
	}
}

// writeLastUse writes queued last uses to KV, one at a time, until Close.
func (s *Store) writeLastUse() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case id := <-s.touches:
			ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
			_ = s.writeOneLastUse(ctx, id) // best effort: a failure is retried on a later use
			cancel()
		}
	}
}

func (s *Store) writeOneLastUse(ctx context.Context, id string) error {
	s.mu.RLock()
	e := s.index[id]
	s.mu.RUnlock()
	if e == nil {
		return nil
	}
	used := time.Unix(0, e.lastUsed.Load()).UTC()
	for range 3 {
		kve, err := s.kv.Get(ctx, id)
		if err != nil {
			return err // deleted, or unavailable
		}
		var rec stored
		if err := json.Unmarshal(kve.Value(), &rec); err != nil {
			return err
		}
		if rec.LastUsedAt != nil && !used.After(*rec.LastUsedAt) {
			return nil
		}
		rec.LastUsedAt = &used
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		rev, err := s.kv.Update(ctx, id, data, kve.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return err
		}
		s.apply(id, rev, &rec)
		return nil
	}
	return nil
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return encoding.EncodeToString(b)
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// parseToken splits clg_<id>_<secret>.
func parseToken(tok string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || !validID(id) || secret == "" || len(secret) > 128 {
		return "", "", false
	}
	return id, secret, true
}

// validID accepts ids of the form Create makes (and longer ones, for later).
func validID(id string) bool {
	if len(id) < 12 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}
