package batches

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/auth"
	pkghttp "github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

const adminToken = "batches-test-admin-token-0123456789"

// api is the routes mounted as the service mounts them: pkg/httpapi's echo,
// /v1 behind auth.Middleware with real tokens on the same JetStream node.
type api struct {
	t      *testing.T
	srv    *httptest.Server
	spec   *openapi.Spec
	routes func() []byte
	tokens map[string]string // role → bearer
}

func startAPI(t *testing.T, n *node, r *replica, clk *testClock) *api {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, err := natsjs.New(n.nc)
	if err != nil {
		t.Fatal(err)
	}
	store, err := auth.OpenStore(ctx, js, clk.Now, auth.WithStaticAdmin(adminToken))
	if err != nil {
		t.Fatalf("auth.OpenStore: %v", err)
	}
	t.Cleanup(store.Close)
	a := &api{t: t, spec: openapi.NewSpec(), tokens: map[string]string{"admin": adminToken}}
	for _, role := range []auth.Role{auth.Biller, auth.Auditor, auth.Clinician} {
		tok, err := store.Create(ctx, role, string(role)+"-app")
		if err != nil {
			t.Fatal(err)
		}
		a.tokens[string(role)] = tok.Bearer
	}
	e := pkghttp.NewEcho(slog.New(slog.NewTextHandler(io.Discard, nil)))
	Routes(e.Group("/v1", auth.Middleware(store)), a.spec, r.closer, X12Config{BillingProvider: X12Provider{Name: "Clinic", NPI: npi}})
	a.routes = func() []byte {
		doc, err := a.spec.Document("billing", "test", e.Routes())
		if err != nil {
			t.Fatalf("openapi: %v", err)
		}
		return doc
	}
	a.srv = httptest.NewServer(e)
	t.Cleanup(a.srv.Close)
	cmds, err := natsapi.Serve(n.nc, e, Commands())
	if err != nil {
		t.Fatalf("natsapi.Serve: %v", err)
	}
	t.Cleanup(func() { cmds.Close() })
	return a
}

type reply struct {
	status int
	header http.Header
	body   []byte
	err    pkghttp.ErrorDetail
}

func (a *api) do(method, path, role string, headers ...string) reply {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+a.tokens[role])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	out := reply{status: res.StatusCode, header: res.Header, body: body}
	if res.StatusCode >= 400 {
		var eb pkghttp.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil {
			a.t.Fatalf("%s %s: error body %s: %v", method, path, body, err)
		}
		out.err = eb.Error
	}
	return out
}

func (a *api) must(want int, method, path, role string, headers ...string) reply {
	a.t.Helper()
	r := a.do(method, path, role, headers...)
	if r.status != want {
		a.t.Fatalf("%s %s as %s: got %d %s, want %d", method, path, role, r.status, r.body, want)
	}
	return r
}

func TestHTTP(t *testing.T) {
	n := startNode(t)
	clk := &testClock{now: testNow}
	r := startReplica(t, n.log, clk)
	a := startAPI(t, n, r, clk)
	recordMinutes(t, n.log, "p-1", 25)
	recordMinutes(t, n.log, "p-2", 50)
	const closePath = "/v1/billing/months/2025-03/claim-batches"

	// Roles: only biller and admin close.
	if got := a.do(http.MethodPost, closePath, ""); got.status != http.StatusUnauthorized {
		t.Errorf("no token: got %d, want 401", got.status)
	}
	for _, role := range []string{"clinician", "auditor"} {
		if got := a.do(http.MethodPost, closePath, role); got.status != http.StatusForbidden || got.err.Code != "forbidden" {
			t.Errorf("POST as %s: got %d %s, want 403", role, got.status, got.body)
		}
	}
	if got := a.do(http.MethodPost, closePath+"?force=yes", "biller"); got.status != http.StatusBadRequest || got.err.Field != "force" {
		t.Errorf("force=yes: got %d %s, want 400 naming force", got.status, got.body)
	}
	if got := a.do(http.MethodPost, "/v1/billing/months/2025-13/claim-batches", "biller"); got.status != http.StatusBadRequest || got.err.Field != "month" {
		t.Errorf("month 2025-13: got %d %s, want 400 naming month", got.status, got.body)
	}
	if got := a.do(http.MethodPost, "/v1/billing/months/2025-04/claim-batches", "biller"); got.status != http.StatusConflict {
		t.Errorf("month in progress: got %d %s, want 409", got.status, got.body)
	}

	created := a.must(http.StatusCreated, http.MethodPost, closePath, "biller", "Idempotency-Key", "close-march")
	var b readmodel.Batch
	if err := json.Unmarshal(created.body, &b); err != nil {
		t.Fatal(err)
	}
	var shape map[string]any
	if err := json.Unmarshal(created.body, &shape); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "month", "closedAt", "logSequence", "contentHash", "lines", "totals"} {
		if _, ok := shape[k]; !ok {
			t.Errorf("batch body lacks %q: %s", k, created.body)
		}
	}
	if b.ID != "batch-2025-03-1" || len(b.Lines) != 3 || len(b.ContentHash) != 64 || b.LogSequence == 0 {
		t.Errorf("created batch: got %s", created.body)
	}
	replayed := a.must(http.StatusOK, http.MethodPost, closePath, "admin", "Idempotency-Key", "close-march")
	if !bytes.Equal(replayed.body, created.body) {
		t.Errorf("Idempotency-Key retry: got %s, want %s", replayed.body, created.body)
	}
	if got := a.do(http.MethodPost, closePath, "biller"); got.status != http.StatusConflict || !strings.Contains(got.err.Message, "not billed before") {
		t.Errorf("nothing left: got %d %s, want 409 nothing to bill", got.status, got.body)
	}

	// Reads: biller, auditor, admin.
	getPath := "/v1/billing/claim-batches/" + b.ID
	if got := a.do(http.MethodGet, getPath, "clinician"); got.status != http.StatusForbidden {
		t.Errorf("GET as clinician: got %d, want 403", got.status)
	}
	got := a.must(http.StatusOK, http.MethodGet, getPath, "auditor")
	if !bytes.Equal(bytes.TrimSpace(got.body), bytes.TrimSpace(created.body)) || !strings.HasPrefix(got.header.Get("Content-Type"), "application/json") {
		t.Errorf("GET: got %s %s, want the created batch as JSON", got.header.Get("Content-Type"), got.body)
	}
	a.must(http.StatusOK, http.MethodGet, getPath+"?format=json", "biller")
	csvReply := a.must(http.StatusOK, http.MethodGet, getPath+"?format=csv", "biller")
	if ct, cd := csvReply.header.Get("Content-Type"), csvReply.header.Get("Content-Disposition"); ct != ContentTypeCSV || !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, b.ID+".csv") {
		t.Errorf("csv: got Content-Type %q, Content-Disposition %q", ct, cd)
	}
	if lines := strings.Split(strings.TrimSpace(string(csvReply.body)), "\r\n"); len(lines) != 4 || !strings.HasPrefix(lines[0], "batchId,") {
		t.Errorf("csv body: got %q", csvReply.body)
	}
	fhirReply := a.must(http.StatusOK, http.MethodGet, getPath+"?format=fhir", "auditor")
	var bundle struct {
		ResourceType string            `json:"resourceType"`
		Entry        []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(fhirReply.body, &bundle); err != nil || bundle.ResourceType != "Bundle" || len(bundle.Entry) != 2 || fhirReply.header.Get("Content-Type") != ContentTypeFHIR {
		t.Errorf("fhir: got %s %s (%v)", fhirReply.header.Get("Content-Type"), fhirReply.body, err)
	}
	x12Reply := a.must(http.StatusOK, http.MethodGet, getPath+"?format=x12", "admin")
	if x12Reply.header.Get("Content-Type") != ContentTypeX12 || !bytes.HasPrefix(x12Reply.body, []byte("ISA*")) || !bytes.HasSuffix(x12Reply.body, []byte("~")) || bytes.Count(x12Reply.body, []byte("~CLM*")) != 2 {
		t.Errorf("x12: got %s %s", x12Reply.header.Get("Content-Type"), x12Reply.body)
	}
	if got := a.do(http.MethodGet, getPath+"?format=pdf", "biller"); got.status != http.StatusBadRequest || got.err.Field != "format" {
		t.Errorf("format=pdf: got %d %s, want 400 naming format", got.status, got.body)
	}
	if got := a.do(http.MethodGet, "/v1/billing/claim-batches/batch-2025-03-9", "biller"); got.status != http.StatusNotFound {
		t.Errorf("unknown batch: got %d %s, want 404", got.status, got.body)
	}

	list := a.must(http.StatusOK, http.MethodGet, closePath, "auditor")
	var l List
	if err := json.Unmarshal(list.body, &l); err != nil || l.Month != "2025-03" || len(l.Batches) != 1 || l.Batches[0].ID != b.ID {
		t.Errorf("list: got %s (%v)", list.body, err)
	}
	empty := a.must(http.StatusOK, http.MethodGet, "/v1/billing/months/2025-02/claim-batches", "biller")
	if !bytes.Contains(empty.body, []byte(`"batches":[]`)) {
		t.Errorf("empty list: got %s, want batches []", empty.body)
	}
	if got := a.do(http.MethodGet, "/v1/billing/months/03-2025/claim-batches", "biller"); got.status != http.StatusBadRequest {
		t.Errorf("list of a malformed month: got %d, want 400", got.status)
	}

	// Over NATS, with force in the body.
	recordMinutesAt(t, n.log, "p-4", 20, time.Date(2025, 4, 1, 15, 0, 0, 0, time.UTC))
	natsClose := func(body string) (int, []byte) {
		msg := nats.NewMsg("carelog.cmd.claim-batches.close")
		msg.Header.Set("Authorization", "Bearer "+a.tokens["biller"])
		msg.Header.Set(natsapi.HeaderParamPrefix+"Month", "2025-04")
		msg.Data = []byte(body)
		res, err := n.nc.RequestMsg(msg, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return natsapi.Status(res), res.Data
	}
	if status, body := natsClose(`{"bogus":true}`); status != http.StatusBadRequest {
		t.Errorf("NATS close with an unknown field: got %d %s, want 400", status, body)
	}
	if status, body := natsClose(""); status != http.StatusConflict {
		t.Errorf("NATS close of April without force: got %d %s, want 409", status, body)
	}
	if status, body := natsClose(`{"force":true}`); status != http.StatusCreated || !bytes.Contains(body, []byte(`"id":"batch-2025-04-1"`)) {
		t.Errorf("NATS close of April with force: got %d %s, want 201 batch-2025-04-1", status, body)
	}

	// Every route is documented.
	doc := a.routes()
	for _, p := range []string{`"/v1/billing/months/{month}/claim-batches"`, `"/v1/billing/claim-batches/{id}"`} {
		if !bytes.Contains(doc, []byte(p)) {
			t.Errorf("openapi document lacks %s", p)
		}
	}
}
