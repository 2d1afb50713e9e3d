package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/testenv"
)

// clock is a pinned, settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func jetStream(t *testing.T, s *natsserver.Server) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(testenv.Connect(t, s))
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	return js
}

func openStore(t *testing.T, js jetstream.JetStream, now func() time.Time, opts ...auth.Option) *auth.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := auth.OpenStore(ctx, js, now, opts...)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

func create(t *testing.T, st *auth.Store, role auth.Role, name string) auth.Token {
	t.Helper()
	tok, err := st.Create(context.Background(), role, name)
	if err != nil {
		t.Fatalf("Create(%s, %q): %v", role, name, err)
	}
	return tok
}

// eventually polls cond every few milliseconds until it holds or 5s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		<-tick.C
	}
}

// api is a service as main wires it: conventions, then /v1 behind auth.
func api(t *testing.T, st *auth.Store) (*echo.Echo, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	e := httpapi.NewEcho(slog.New(slog.NewJSONHandler(&logs, nil)))
	v1 := e.Group("/v1", auth.Middleware(st))
	auth.Routes(v1, openapi.NewSpec(), st)
	whoami := func(c echo.Context) error {
		p, _ := auth.FromContext(c)
		q, _ := auth.PrincipalFrom(c.Request().Context())
		if p != q {
			t.Errorf("principal in echo context %+v, in request context %+v: want the same", p, q)
		}
		return httpapi.WriteOK(c, p)
	}
	v1.GET("/clinical/:id", whoami, auth.Require(auth.Clinician))
	v1.GET("/reads/:id", whoami, auth.Require(auth.Clinician, auth.Biller, auth.Auditor))
	return e, &logs
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

func (r reply) errorDetail(t *testing.T) httpapi.ErrorDetail {
	t.Helper()
	var b httpapi.ErrorBody
	r.decode(t, &b)
	return b.Error
}

func call(e *echo.Echo, method, target, authz, body string) reply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return reply{status: w.Code, header: w.Header(), body: w.Body.String()}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    auth.Role
		wantErr bool
	}{
		{"clinician", auth.Clinician, false},
		{"biller", auth.Biller, false},
		{"auditor", auth.Auditor, false},
		{"admin", auth.Admin, false},
		{"Admin", "", true},
		{"", "", true},
		{"root", "", true},
	}
	for _, tt := range tests {
		got, err := auth.ParseRole(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseRole(%q): got %q, %v, want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil {
			if k, field, _ := errs.Public(err); k != errs.Invalid || field != "role" {
				t.Errorf("ParseRole(%q) error: got %s %s, want invalid role", tt.in, k, field)
			}
		}
	}
}

func TestMiddleware(t *testing.T) {
	st := openStore(t, jetStream(t, testenv.JetStream(t, "")), nil, auth.WithStaticAdmin("static-admin-token-0123456789"))
	clinician := create(t, st, auth.Clinician, "nurse app")
	biller := create(t, st, auth.Biller, "billing dashboard")
	admin := create(t, st, auth.Admin, "ops")
	revoked := create(t, st, auth.Clinician, "old app")
	if err := st.Revoke(context.Background(), revoked.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	e, logs := api(t, st)

	tests := []struct {
		name, target, authz string
		wantStatus          int
		wantMsg             string
		wantChallenge       string
		wantRole            auth.Role
	}{
		{name: "no header", target: "/v1/clinical/p-1", wantStatus: 401, wantMsg: "send Authorization: Bearer <token>", wantChallenge: "Bearer"},
		{name: "basic", target: "/v1/clinical/p-1", authz: "Basic dXNlcjpwdw==", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "empty bearer", target: "/v1/clinical/p-1", authz: "Bearer ", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "garbage", target: "/v1/clinical/p-1", authz: "Bearer nope", wantStatus: 401, wantMsg: "missing or invalid bearer token", wantChallenge: `Bearer error="invalid_token"`},
		{name: "wrong secret", target: "/v1/clinical/p-1", authz: "Bearer " + clinician.Bearer[:len(clinician.Bearer)-4] + "aaaa", wantStatus: 401, wantMsg: "missing or invalid bearer token", wantChallenge: `Bearer error="invalid_token"`},
		{name: "revoked", target: "/v1/clinical/p-1", authz: "Bearer " + revoked.Bearer, wantStatus: 401, wantMsg: "this bearer token has been revoked", wantChallenge: `Bearer error="invalid_token"`},
		{name: "unknown route still needs a token", target: "/v1/nowhere", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "clinician on clinical route", target: "/v1/clinical/p-1", authz: "Bearer " + clinician.Bearer, wantStatus: 200, wantRole: auth.Clinician},
		{name: "scheme is case-insensitive", target: "/v1/clinical/p-1", authz: "bearer " + clinician.Bearer, wantStatus: 200, wantRole: auth.Clinician},
		{name: "biller on clinical route", target: "/v1/clinical/p-1", authz: "Bearer " + biller.Bearer, wantStatus: 403, wantMsg: "requires the role clinician or admin"},
		{name: "biller on read route", target: "/v1/reads/p-1", authz: "Bearer " + biller.Bearer, wantStatus: 200, wantRole: auth.Biller},
		{name: "clinician on admin route", target: "/v1/tokens", authz: "Bearer " + clinician.Bearer, wantStatus: 403, wantMsg: "requires the role admin"},
		{name: "admin on clinical route", target: "/v1/clinical/p-1", authz: "Bearer " + admin.Bearer, wantStatus: 200, wantRole: auth.Admin},
		{name: "static admin", target: "/v1/clinical/p-1", authz: "Bearer static-admin-token-0123456789", wantStatus: 200, wantRole: auth.Admin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(e, http.MethodGet, tt.target, tt.authz, "")
			if res.status != tt.wantStatus {
				t.Fatalf("status: got %d (%s), want %d", res.status, res.body, tt.wantStatus)
			}
			if got := res.header.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate: got %q, want %q", got, tt.wantChallenge)
			}
			if tt.wantStatus != 200 {
				d := res.errorDetail(t)
				wantCode := errs.Unauthorized
				if tt.wantStatus == 403 {
					wantCode = errs.Forbidden
				}
				if d.Code != wantCode || (tt.wantMsg != "" && d.Message != tt.wantMsg) {
					t.Errorf("error: got %+v, want code %s message %q", d, wantCode, tt.wantMsg)
				}
				return
			}
			var p auth.Principal
			res.decode(t, &p)
			if p.Role != tt.wantRole || p.TokenID == "" {
				t.Errorf("principal: got %+v, want role %s and a token id", p, tt.wantRole)
			}
		})
	}
	// The access log names the caller, never the token or the patient id.
	if !strings.Contains(logs.String(), `"token_id":"`+clinician.ID+`","role":"clinician"`) {
		t.Errorf("access log: got %s, want the clinician's token id and role", logs.String())
	}
	for _, secret := range []string{clinician.Bearer, "static-admin-token", "p-1"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("access log holds %q", secret)
		}
	}
}

func TestTokensHTTP(t *testing.T) {
	clk := newClock()
	st := openStore(t, jetStream(t, testenv.JetStream(t, "")), clk.Now)
	admin := create(t, st, auth.Admin, "ops")
	e, _ := api(t, st)
	asAdmin := "Bearer " + admin.Bearer

	// Create.
	res := call(e, http.MethodPost, "/v1/tokens", asAdmin, `{"role":"clinician","name":"nurse app"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("POST /v1/tokens: got %d %s, want 201", res.status, res.body)
	}
	var created map[string]any
	res.decode(t, &created)
	want := map[string]any{"name": "nurse app", "role": "clinician", "createdAt": "2025-03-14T09:00:00Z"}
	for k, v := range want {
		if created[k] != v {
			t.Errorf("created %s: got %v, want %v", k, created[k], v)
		}
	}
	if len(created) != 5 {
		t.Errorf("created: got fields %v, want id, name, role, createdAt, token", created)
	}
	id, _ := created["id"].(string)
	bearer, _ := created["token"].(string)
	if !strings.HasPrefix(bearer, "clg_"+id+"_") || len(id) < 12 {
		t.Fatalf("token %q, id %q: want clg_<id>_<secret> with an id of 12+ characters", bearer, id)
	}
	if got := res.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", got)
	}

	// The new token works at once.
	clk.Advance(time.Hour)
	if res := call(e, http.MethodGet, "/v1/clinical/p-1", "Bearer "+bearer, ""); res.status != 200 {
		t.Fatalf("new token: got %d %s, want 200", res.status, res.body)
	}

	// Bad requests.
	bad := []struct {
		name, authz, body string
		wantStatus        int
		wantField         string
	}{
		{"unknown role", asAdmin, `{"role":"root","name":"x"}`, 400, "role"},
		{"missing role", asAdmin, `{"name":"x"}`, 400, "role"},
		{"blank name", asAdmin, `{"role":"biller","name":"  "}`, 400, "name"},
		{"long name", asAdmin, `{"role":"biller","name":"` + strings.Repeat("n", 65) + `"}`, 400, "name"},
		{"unknown field", asAdmin, `{"role":"biller","name":"x","secret":"mine"}`, 400, "secret"},
		{"not admin", "Bearer " + bearer, `{"role":"admin","name":"escalate"}`, 403, ""},
	}
	for _, tt := range bad {
		res := call(e, http.MethodPost, "/v1/tokens", tt.authz, tt.body)
		if d := res.errorDetail(t); res.status != tt.wantStatus || d.Field != tt.wantField {
			t.Errorf("%s: got %d %+v, want %d field %q", tt.name, res.status, d, tt.wantStatus, tt.wantField)
		}
	}

	// List: both tokens, last use shown, never a secret or a hash.
	res = call(e, http.MethodGet, "/v1/tokens", asAdmin, "")
	if res.status != 200 {
		t.Fatalf("GET /v1/tokens: got %d %s, want 200", res.status, res.body)
	}
	secret := bearer[len("clg_"+id+"_"):]
	sum := sha256.Sum256([]byte(secret))
	for _, leak := range []string{secret, hex.EncodeToString(sum[:]), `"hash"`, `"token"`, admin.Bearer[len(admin.Bearer)-20:]} {
		if strings.Contains(res.body, leak) {
			t.Errorf("list holds %q: %s", leak, res.body)
		}
	}
	var list struct {
		Tokens []map[string]any `json:"tokens"`
	}
	res.decode(t, &list)
	if len(list.Tokens) != 2 {
		t.Fatalf("list: got %d tokens, want 2: %s", len(list.Tokens), res.body)
	}
	byID := func() map[string]any {
		for _, tok := range list.Tokens {
			if tok["id"] == id {
				return tok
			}
		}
		t.Fatalf("list: got %s, want token %s", res.body, id)
		return nil
	}
	nurse := byID()
	if nurse["id"] != id || nurse["lastUsedAt"] != "2025-03-14T10:00:00Z" || nurse["revokedAt"] != nil {
		t.Errorf("listed token: got %v, want id %s, lastUsedAt 2025-03-14T10:00:00Z, no revokedAt", nurse, id)
	}

	// Revoke.
	clk.Advance(time.Minute)
	if res := call(e, http.MethodDelete, "/v1/tokens/"+id, asAdmin, ""); res.status != http.StatusNoContent {
		t.Fatalf("DELETE: got %d %s, want 204", res.status, res.body)
	}
	if res := call(e, http.MethodGet, "/v1/clinical/p-1", "Bearer "+bearer, ""); res.status != 401 {
		t.Errorf("revoked token: got %d, want 401", res.status)
	}
	if res := call(e, http.MethodDelete, "/v1/tokens/"+id, asAdmin, ""); res.status != http.StatusNoContent {
		t.Errorf("DELETE again: got %d %s, want 204", res.status, res.body)
	}
	for _, unknown := range []string{"aaaaaaaaaaaaaaaa", "static-admin", "a.b.c"} {
		if res := call(e, http.MethodDelete, "/v1/tokens/"+unknown, asAdmin, ""); res.status != 404 || res.errorDetail(t).Code != errs.NotFound {
			t.Errorf("DELETE %s: got %d %s, want 404 not_found", unknown, res.status, res.body)
		}
	}
	res = call(e, http.MethodGet, "/v1/tokens", asAdmin, "")
	res.decode(t, &list)
	if got := byID()["revokedAt"]; got != "2025-03-14T10:01:00Z" {
		t.Errorf("revokedAt: got %v, want 2025-03-14T10:01:00Z", got)
	}
}

func TestSecretNeverStoredInKV(t *testing.T) {
	js := jetStream(t, testenv.JetStream(t, ""))
	st := openStore(t, js, nil)
	tok := create(t, st, auth.Auditor, "compliance")
	if _, err := st.Authenticate(tok.Bearer); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if err := st.Revoke(context.Background(), tok.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}

	kv, err := js.KeyValue(context.Background(), auth.Bucket)
	if err != nil {
		t.Fatalf("KeyValue: %v", err)
	}
	st2, err := kv.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if got := st2.History(); got < 1 || got > 5 {
		t.Errorf("bucket history: got %d, want 1..5", got)
	}
	stream, err := js.Stream(context.Background(), "KV_"+auth.Bucket)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if got := stream.CachedInfo().Config.Storage; got != jetstream.FileStorage {
		t.Errorf("bucket storage: got %v, want file", got)
	}
	hist, err := kv.History(context.Background(), tok.ID)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	secret := tok.Bearer[len("clg_"+tok.ID+"_"):]
	sum := sha256.Sum256([]byte(secret))
	for _, kve := range hist {
		v := string(kve.Value())
		if strings.Contains(v, secret) || strings.Contains(v, secret[:16]) {
			t.Errorf("revision %d holds the secret: %s", kve.Revision(), v)
		}
		if !strings.Contains(v, `"hash":"`+hex.EncodeToString(sum[:])+`"`) {
			t.Errorf("revision %d: got %s, want the secret's SHA-256", kve.Revision(), v)
		}
	}
}

func TestCreateValidation(t *testing.T) {
	st := openStore(t, jetStream(t, testenv.JetStream(t, "")), nil)
	tests := []struct {
		role      auth.Role
		name      string
		wantField string
	}{
		{auth.Clinician, "a", ""},
		{auth.Biller, strings.Repeat("é", 64), ""},
		{"", "x", "role"},
		{"superuser", "x", "role"},
		{auth.Admin, "", "name"},
		{auth.Admin, " \t", "name"},
		{auth.Admin, strings.Repeat("n", 65), "name"},
		{auth.Admin, "line\nbreak", "name"},
	}
	for _, tt := range tests {
		_, err := st.Create(context.Background(), tt.role, tt.name)
		_, field, _ := errs.Public(err)
		if (err == nil) != (tt.wantField == "") || field != tt.wantField {
			t.Errorf("Create(%q, %q): got %v, want field %q", tt.role, tt.name, err, tt.wantField)
		}
	}
}

// TestRevocationAcrossProcesses opens two stores on two connections to one
// server, as two Carelog processes would, and revokes in one.
func TestRevocationAcrossProcesses(t *testing.T) {
	s := testenv.JetStream(t, "")
	a := openStore(t, jetStream(t, s), nil)
	b := openStore(t, jetStream(t, s), nil)

	tok := create(t, a, auth.Clinician, "nurse app")
	eventually(t, "the other process sees the new token", func() bool {
		_, err := b.Authenticate(tok.Bearer)
		return err == nil
	})
	if err := a.Revoke(context.Background(), tok.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := a.Authenticate(tok.Bearer); errs.KindOf(err) != errs.Unauthorized {
		t.Errorf("revoking process: got %v, want unauthorized at once", err)
	}
	eventually(t, "the other process refuses the revoked token", func() bool {
		_, err := b.Authenticate(tok.Bearer)
		return errs.KindOf(err) == errs.Unauthorized
	})

	// A key deleted outside the API (an operator's purge) is refused too.
	other := create(t, b, auth.Biller, "dashboard")
	eventually(t, "the first process sees the second token", func() bool {
		_, err := a.Authenticate(other.Bearer)
		return err == nil
	})
	kv, err := jetStream(t, s).KeyValue(context.Background(), auth.Bucket)
	if err != nil {
		t.Fatalf("KeyValue: %v", err)
	}
	if err := kv.Delete(context.Background(), other.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	eventually(t, "both processes refuse the deleted token", func() bool {
		_, errA := a.Authenticate(other.Bearer)
		_, errB := b.Authenticate(other.Bearer)
		return errs.KindOf(errA) == errs.Unauthorized && errs.KindOf(errB) == errs.Unauthorized
	})
}

func TestLastUsedIsWrittenLazily(t *testing.T) {
	clk := newClock()
	js := jetStream(t, testenv.JetStream(t, ""))
	st := openStore(t, js, clk.Now)
	tok := create(t, st, auth.Clinician, "timer widget")
	kv, err := js.KeyValue(context.Background(), auth.Bucket)
	if err != nil {
		t.Fatalf("KeyValue: %v", err)
	}
	storedLastUse := func() string {
		kve, err := kv.Get(context.Background(), tok.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		var rec struct {
			LastUsedAt *time.Time `json:"lastUsedAt"`
		}
		if err := json.Unmarshal(kve.Value(), &rec); err != nil {
			t.Fatalf("record %s: %v", kve.Value(), err)
		}
		if rec.LastUsedAt == nil {
			return ""
		}
		return rec.LastUsedAt.Format(time.RFC3339)
	}
	use := func() {
		t.Helper()
		if _, err := st.Authenticate(tok.Bearer); err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
	}

	clk.Advance(time.Second)
	use() // first use: written
	eventually(t, "the first use is written", func() bool { return storedLastUse() == "2025-03-14T09:00:01Z" })
	clk.Advance(20 * time.Second)
	use() // within the minute: memory only
	clk.Advance(20 * time.Second)
	use()
	clk.Advance(2 * time.Minute)
	use() // a minute later: written
	eventually(t, "the later use is written", func() bool { return storedLastUse() == "2025-03-14T09:02:41Z" })

	hist, err := kv.History(context.Background(), tok.ID)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(hist) != 3 {
		t.Errorf("KV revisions: got %d, want 3 (create and two last-use writes)", len(hist))
	}
	recs, err := st.List(context.Background())
	if err != nil || len(recs) != 1 || recs[0].LastUsedAt == nil || !recs[0].LastUsedAt.Equal(clk.Now()) {
		t.Errorf("List: got %+v, %v, want lastUsedAt %s", recs, err, clk.Now())
	}
}

func TestStaticAdmin(t *testing.T) {
	js := jetStream(t, testenv.JetStream(t, ""))
	const static = "static-admin-token-0123456789"
	st := openStore(t, js, nil, auth.WithStaticAdmin(static))
	p, err := st.Authenticate(static)
	if err != nil || p.Role != auth.Admin || p.TokenID != auth.StaticAdminID {
		t.Errorf("Authenticate(static): got %+v, %v, want admin %s", p, err, auth.StaticAdminID)
	}
	if !st.HasAdmin() {
		t.Errorf("HasAdmin: got false, want true")
	}
	if recs, _ := st.List(context.Background()); len(recs) != 0 {
		t.Errorf("List: got %+v, want no records (the static token is not stored)", recs)
	}
	if _, err := st.Authenticate(static + "x"); errs.KindOf(err) != errs.Unauthorized {
		t.Errorf("Authenticate(static+x): got %v, want unauthorized", err)
	}

	// Without the option, the same string is nobody.
	plain := openStore(t, js, nil)
	if _, err := plain.Authenticate(static); errs.KindOf(err) != errs.Unauthorized {
		t.Errorf("store without static admin: got %v, want unauthorized", err)
	}

	for _, weak := range []string{"short", "has spaces in the token", "tab\tseparated-token-xx"} {
		if _, err := auth.OpenStore(context.Background(), js, nil, auth.WithStaticAdmin(weak)); errs.KindOf(err) != errs.Invalid {
			t.Errorf("WithStaticAdmin(%q): got %v, want invalid", weak, err)
		}
	}
}

func TestBootstrap(t *testing.T) {
	dir := t.TempDir()
	s := testenv.JetStream(t, dir)
	st := openStore(t, jetStream(t, s), nil)
	if st.HasAdmin() {
		t.Fatalf("HasAdmin on an empty store: got true, want false")
	}
	var out bytes.Buffer
	if err := auth.Bootstrap(context.Background(), st, &out); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	line := out.String()
	bearer, ok := strings.CutPrefix(strings.TrimSpace(line), "Carelog admin token (shown once, store it now): ")
	if !ok || !strings.HasPrefix(bearer, "clg_") {
		t.Fatalf("Bootstrap printed %q, want the sentence and a clg_ token", line)
	}
	if p, err := st.Authenticate(bearer); err != nil || p.Role != auth.Admin || p.Name != "bootstrap-admin" {
		t.Errorf("printed token: got %+v, %v, want the admin bootstrap-admin", p, err)
	}

	// Same process again: nothing.
	out.Reset()
	if err := auth.Bootstrap(context.Background(), st, &out); err != nil || out.Len() != 0 {
		t.Errorf("second Bootstrap: got %q, %v, want nothing printed", out.String(), err)
	}

	// A restart of the node and the process: nothing, and the token still works.
	st.Close()
	s.Shutdown()
	s = testenv.JetStream(t, dir)
	st = openStore(t, jetStream(t, s), nil)
	if err := auth.Bootstrap(context.Background(), st, &out); err != nil || out.Len() != 0 {
		t.Errorf("Bootstrap after restart: got %q, %v, want nothing printed", out.String(), err)
	}
	if _, err := st.Authenticate(bearer); err != nil {
		t.Errorf("bootstrap token after restart: got %v, want accepted", err)
	}

	// A static admin makes a bootstrap token unnecessary.
	fresh := openStore(t, jetStream(t, testenv.JetStream(t, "")), nil, auth.WithStaticAdmin("static-admin-token-0123456789"))
	if err := auth.Bootstrap(context.Background(), fresh, &out); err != nil || out.Len() != 0 {
		t.Errorf("Bootstrap with a static admin: got %q, %v, want nothing printed", out.String(), err)
	}
	if recs, _ := fresh.List(context.Background()); len(recs) != 0 {
		t.Errorf("Bootstrap with a static admin created %+v, want nothing", recs)
	}
}

// TestStoreFailsClosed checks that a store whose watcher has stopped (its
// connection is gone) refuses stored tokens, which might have been revoked
// since, rather than trusting a stale index.
func TestStoreFailsClosed(t *testing.T) {
	s := testenv.JetStream(t, "")
	nc, err := s.Connect()
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	const static = "static-admin-token-0123456789"
	st := openStore(t, js, nil, auth.WithStaticAdmin(static))
	tok := create(t, st, auth.Clinician, "nurse app")
	nc.Close()
	eventually(t, "a stored token is refused as unavailable", func() bool {
		_, err := st.Authenticate(tok.Bearer)
		return errs.KindOf(err) == errs.Unavailable
	})
	if p, err := st.Authenticate(static); err != nil || p.Role != auth.Admin {
		t.Errorf("static admin: got %+v, %v, want admin", p, err)
	}
	e, _ := api(t, st)
	if res := call(e, http.MethodGet, "/v1/clinical/p-1", "Bearer "+tok.Bearer, ""); res.status != http.StatusServiceUnavailable {
		t.Errorf("HTTP: got %d %s, want 503", res.status, res.body)
	}
}
