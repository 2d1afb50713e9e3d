package consent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/billing/rules"
	"github.com/carelog/carelog/services/consent"
)

const (
	npiA   = "1234567893"
	npiB   = "1987654328"
	npiBad = "1234567890"

	practiceBody     = `{"name":"Prairie Clinic","timezone":"America/Chicago","billingNpi":"1234567893","taxId":"12-3456789","policy":{"afterRevocation":"exclude","lateEntryDays":10}}`
	practitionerBody = `{"name":"Ada Byron","kind":"physician","credential":"MD"}`
	patientBody      = `{"id":"p-1","mrn":"MRN-1","name":{"given":"Ada","family":"Lovelace"},"birthDate":"1950-02-03","mbi":"1EG4TE5MK73","billingPractitionerNpi":"1234567893"}`
	condition1Body   = `{"code":"I50.22","description":"Chronic systolic heart failure","expectedDurationMonths":120,"significantRisk":true,"onsetDate":"2019-05-01"}`
	condition2Body   = `{"code":"E11.65","description":"Type 2 diabetes with hyperglycemia","expectedDurationMonths":120,"significantRisk":true}`
	consentBody      = `{"id":"c-1","program":"ccm","practitionerNpi":"1234567893","method":"verbal","decision":"accepted","obtainedAt":"2025-03-03T10:00:00-06:00","obtainedBy":"RN Jo","disclosures":["availability_and_cost_sharing","one_practitioner_per_month","right_to_stop"]}`
	revocationBody   = `{"revokedAt":"2025-03-10T16:00:00-05:00","recordedBy":"RN Jo","reason":"prefers not to continue"}`
)

// world is a node, the service on it, and a token per role.
type world struct {
	clk                        *clock
	node                       *node
	app                        *app
	clinician, biller, auditor string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{clk: &clock{now: start}}
	w.node = startNode(t, "", w.clk)
	w.app = startApp(t, w.node, w.clk)
	w.clinician = w.node.token(t, auth.Clinician)
	w.biller = w.node.token(t, auth.Biller)
	w.auditor = w.node.token(t, auth.Auditor)
	return w
}

// setUp configures the practice, registers npiA and enrolls p-1.
func (w *world) setUp(t *testing.T) {
	t.Helper()
	w.app.must(201, http.MethodPut, "/v1/practice", adminToken, practiceBody)
	w.app.must(201, http.MethodPut, "/v1/practitioners/"+npiA, adminToken, practitionerBody)
	w.app.must(201, http.MethodPost, "/v1/patients", w.clinician, patientBody)
}

// appendDirect appends an event of another service straight to the log.
func (w *world) appendDirect(t *testing.T, id string, typ events.Type, patientID string, payload any) uint64 {
	t.Helper()
	env, err := events.DefaultRegistry().New(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	env.ID, env.Stream, env.PatientID = id, events.PatientStream(patientID), patientID
	env.OccurredAt, env.RecordedAt = start, start
	env.Actor = events.Actor{ID: "test", Role: "clinician", App: "careplan-test"}
	res, err := w.node.log.Append(context.Background(), eventlog.Any, env)
	if err != nil {
		t.Fatalf("append %s: %v", typ, err)
	}
	return res.Sequence
}

func TestEnrollmentFlow(t *testing.T) {
	w := newWorld(t)
	a := w.app

	// Practice set-up: the policy is stored whole, defaults spelled out.
	r := a.must(201, http.MethodPut, "/v1/practice", adminToken, practiceBody)
	var practice struct {
		Name, Timezone, BillingNpi, TaxId, EventId string
		Policy                                     rules.Policy
		Sequence                                   uint64
	}
	r.json(t, &practice)
	wantPolicy := rules.DefaultPolicy()
	wantPolicy.LateEntryDays = 10
	if practice.TaxId != "123456789" || practice.Timezone != "America/Chicago" || practice.Policy != wantPolicy || practice.Sequence == 0 {
		t.Errorf("practice: got %s, want tax id 123456789 and every policy setting", r.raw)
	}
	if again := a.must(200, http.MethodPut, "/v1/practice", adminToken, practiceBody); !bytes.Equal(again.raw, r.raw) {
		t.Errorf("same PUT: got %s, want the original %s", again.raw, r.raw)
	}
	a.must(201, http.MethodPut, "/v1/practitioners/"+npiA, adminToken, practitionerBody)
	a.must(201, http.MethodPut, "/v1/practitioners/"+npiB, adminToken, `{"name":"Grace Hopper","kind":"np","credential":"FNP-BC"}`)
	if got := a.must(200, http.MethodGet, "/v1/practice", w.auditor, ""); !bytes.Equal(got.raw, r.raw) {
		t.Errorf("GET practice: got %s, want %s", got.raw, r.raw)
	}
	var list struct {
		Practitioners []struct{ NPI, Kind, EventID string } `json:"practitioners"`
	}
	a.must(200, http.MethodGet, "/v1/practitioners", w.biller, "").json(t, &list)
	if len(list.Practitioners) != 2 || list.Practitioners[0].NPI != npiA || list.Practitioners[1].Kind != "np" {
		t.Errorf("practitioners: got %+v, want A then B", list.Practitioners)
	}
	a.must(200, http.MethodGet, "/v1/practitioners/"+npiB, w.clinician, "")
	a.must(404, http.MethodGet, "/v1/practitioners/1111111112", w.clinician, "")

	// Clinical facts.
	r = a.must(201, http.MethodPost, "/v1/patients", w.clinician, patientBody)
	if !strings.Contains(string(r.raw), `"id":"p-1"`) || !strings.Contains(string(r.raw), `"eventId":"patient-p-1"`) {
		t.Errorf("patient: got %s", r.raw)
	}
	c1 := a.must(201, http.MethodPost, "/v1/patients/p-1/conditions", w.clinician, condition1Body, "Idempotency-Key", "cond-1")
	a.must(201, http.MethodPost, "/v1/patients/p-1/conditions", w.clinician, condition2Body)
	cr := a.must(201, http.MethodPost, "/v1/patients/p-1/consents", w.clinician, consentBody)
	var consentRes struct {
		ID, Decision, PatientID string
		MissingDisclosures      []string
		Sequence                uint64
	}
	cr.json(t, &consentRes)
	if consentRes.ID != "c-1" || consentRes.Decision != "accepted" || consentRes.PatientID != "p-1" || len(consentRes.MissingDisclosures) != 0 {
		t.Errorf("consent: got %s", cr.raw)
	}
	// A declined consent is recorded too (the dropout view).
	a.must(201, http.MethodPost, "/v1/patients/p-1/consents", w.clinician,
		`{"id":"c-0","program":"pcm","practitionerNpi":"1987654328","method":"written","decision":"declined","obtainedAt":"2025-02-01T10:00:00-06:00","obtainedBy":"RN Jo","disclosures":[]}`)
	a.must(201, http.MethodPost, "/v1/patients/p-1/consents/c-1/revocation", w.clinician, revocationBody)

	// Care plan and copy, written by the care-plan service.
	w.appendDirect(t, "careplan-cp-1", events.TypeCarePlanEstablished, "p-1", events.CarePlanEstablished{
		ID: "cp-1", Kind: "comprehensive", EstablishedAt: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC), AuthorNPI: npiA, Electronic: true,
		Problems: []events.CarePlanProblem{{Code: "I50.22", Description: "HF"}}})
	copySeq := w.appendDirect(t, "copy-1", events.TypeCarePlanCopyProvided, "p-1", events.CarePlanCopyProvided{
		PlanID: "cp-1", ProvidedAt: time.Date(2025, 3, 5, 10, 0, 0, 0, time.UTC), To: "patient", Method: "portal"})

	// The summary reads the writes at once (the GET waits for the projection).
	r = a.must(200, http.MethodGet, "/v1/patients/p-1", w.biller, "")
	var sum struct {
		ID         string
		Conditions []struct {
			ID, Code, EventID string
			QualifiesCcm      bool
			Sequence          uint64
		}
		Eligibility struct {
			CcmCount int
			CcmCodes []string
			Ccm      bool
		}
		Consents []struct {
			ID, Status, Decision string
			MissingDisclosures   []string
			Revocation           *struct{ EffectiveThrough, EventID string }
		}
		CarePlans []struct {
			ID      string
			Missing []string
			Copies  []struct {
				EventID  string
				Sequence uint64
			}
		}
		AsOfSequence uint64
	}
	r.json(t, &sum)
	var c1res struct{ ID string }
	c1.json(t, &c1res)
	if len(sum.Conditions) != 2 || sum.Conditions[0].ID != c1res.ID || !sum.Conditions[0].QualifiesCcm {
		t.Errorf("conditions: got %+v, want I50.22 (%s) first", sum.Conditions, c1res.ID)
	}
	if !sum.Eligibility.Ccm || sum.Eligibility.CcmCount != 2 || !slices.Equal(sum.Eligibility.CcmCodes, []string{"E11.65", "I50.22"}) {
		t.Errorf("eligibility: got %+v, want CCM with 2 conditions", sum.Eligibility)
	}
	if len(sum.Consents) != 2 || sum.Consents[0].ID != "c-1" || sum.Consents[0].Status != "revoked" || sum.Consents[0].Revocation == nil ||
		sum.Consents[0].Revocation.EffectiveThrough != "2025-03-31" || sum.Consents[1].Status != "declined" || len(sum.Consents[1].MissingDisclosures) != 3 {
		t.Errorf("consents: got %s, want c-1 revoked through 2025-03-31 and c-0 declined", r.raw)
	}
	if len(sum.CarePlans) != 1 || sum.CarePlans[0].ID != "cp-1" || len(sum.CarePlans[0].Copies) != 1 || sum.CarePlans[0].Copies[0].Sequence != copySeq || len(sum.CarePlans[0].Missing) == 0 {
		t.Errorf("care plans: got %+v, want cp-1 with its copy at %d", sum.CarePlans, copySeq)
	}
	if sum.AsOfSequence != copySeq {
		t.Errorf("asOfSequence: got %d, want %d", sum.AsOfSequence, copySeq)
	}
	for _, tok := range []string{w.clinician, w.auditor, adminToken} {
		if got := a.must(200, http.MethodGet, "/v1/patients/p-1", tok, ""); !bytes.Equal(got.raw, r.raw) {
			t.Errorf("summary differs between readers: %s", got.raw)
		}
	}
	a.must(404, http.MethodGet, "/v1/patients/p-2", w.clinician, "")
	a.must(404, http.MethodGet, "/v1/patients/p.2", w.clinician, "")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.svc.Ready(ctx); err != nil {
		t.Errorf("Ready: got %v, want nil once the read model has caught up", err)
	}
}

func TestBadInputsWriteNothing(t *testing.T) {
	w := newWorld(t)
	w.setUp(t)
	a := w.app
	a.must(201, http.MethodPost, "/v1/patients/p-1/consents", w.clinician, consentBody)
	a.must(201, http.MethodPost, "/v1/patients/p-1/consents", w.clinician,
		`{"id":"c-declined","program":"ccm","practitionerNpi":"1234567893","method":"verbal","decision":"declined","obtainedAt":"2025-03-03T10:00:00-06:00","obtainedBy":"RN Jo","disclosures":[]}`)

	consent := func(replace ...string) string { return swap(consentBody, replace...) }
	tests := []struct {
		name, method, path, token, body string
		headers                         []string
		status                          int
		code                            errs.Kind
		field                           string
	}{
		// Future dates.
		{"consent obtained in the future", "POST", "/v1/patients/p-1/consents", "clin", consent(`"c-1"`, `"c-9"`, `2025-03-03T10:00:00-06:00`, `2025-03-14T10:06:00-05:00`), nil, 400, errs.Invalid, "obtainedAt"},
		{"revoked in the future", "POST", "/v1/patients/p-1/consents/c-1/revocation", "clin", swap(revocationBody, `2025-03-10T16:00:00-05:00`, `2025-03-15T16:00:00-05:00`), nil, 400, errs.Invalid, "revokedAt"},
		{"born in the future", "POST", "/v1/patients", "clin", swap(patientBody, `"p-1"`, `"p-9"`, `1950-02-03`, `2025-04-01`), nil, 400, errs.Invalid, "birthDate"},
		{"died in the future", "POST", "/v1/patients", "clin", swap(patientBody, `"p-1"`, `"p-9"`, `"billingPractitionerNpi"`, `"deceasedDate":"2025-12-01","billingPractitionerNpi"`), nil, 400, errs.Invalid, "deceasedDate"},
		{"onset in the future", "POST", "/v1/patients/p-1/conditions", "clin", swap(condition1Body, `2019-05-01`, `2025-06-01`), nil, 400, errs.Invalid, "onsetDate"},
		// Unknown enumeration values.
		{"unknown program", "POST", "/v1/patients/p-1/consents", "clin", consent(`"ccm"`, `"rpm"`), nil, 400, errs.Invalid, "program"},
		{"unknown method", "POST", "/v1/patients/p-1/consents", "clin", consent(`"verbal"`, `"email"`), nil, 400, errs.Invalid, "method"},
		{"unknown decision", "POST", "/v1/patients/p-1/consents", "clin", consent(`"accepted"`, `"undecided"`), nil, 400, errs.Invalid, "decision"},
		{"unknown disclosure", "POST", "/v1/patients/p-1/consents", "clin", consent(`"right_to_stop"`, `"right_to_sue"`), nil, 400, errs.Invalid, "disclosures"},
		{"unknown practitioner kind", "PUT", "/v1/practitioners/" + npiB, "admin", `{"name":"X","kind":"rn","credential":"RN"}`, nil, 400, errs.Invalid, "kind"},
		{"unknown policy value", "PUT", "/v1/practice", "admin", swap(practiceBody, `"exclude"`, `"sometimes"`), nil, 400, errs.Invalid, "policy.afterRevocation"},
		// Missing disclosure list.
		{"disclosures missing", "POST", "/v1/patients/p-1/consents", "clin", consent(`,"disclosures":["availability_and_cost_sharing","one_practitioner_per_month","right_to_stop"]`, ``), nil, 400, errs.Invalid, "disclosures"},
		{"disclosures null", "POST", "/v1/patients/p-1/consents", "clin", consent(`["availability_and_cost_sharing","one_practitioner_per_month","right_to_stop"]`, `null`), nil, 400, errs.Invalid, "disclosures"},
		// Bad NPI check digits.
		{"practitioner NPI", "PUT", "/v1/practitioners/" + npiBad, "admin", practitionerBody, nil, 400, errs.Invalid, "npi"},
		{"practice billing NPI", "PUT", "/v1/practice", "admin", swap(practiceBody, npiA, npiBad), nil, 400, errs.Invalid, "billingNpi"},
		{"patient billing practitioner NPI", "POST", "/v1/patients", "clin", swap(patientBody, `"p-1"`, `"p-9"`, npiA, npiBad), nil, 400, errs.Invalid, "billingPractitionerNpi"},
		{"consent practitioner NPI", "POST", "/v1/patients/p-1/consents", "clin", consent(`"c-1"`, `"c-9"`, npiA, npiBad), nil, 400, errs.Invalid, "practitionerNpi"},
		{"unregistered practitioner", "POST", "/v1/patients/p-1/consents", "clin", consent(`"c-1"`, `"c-9"`, npiA, npiB), nil, 400, errs.Invalid, "practitionerNpi"},
		// Bad ICD-10-CM.
		{"not ICD-10", "POST", "/v1/patients/p-1/conditions", "clin", swap(condition1Body, `I50.22`, `I50-22`), nil, 400, errs.Invalid, "code"},
		{"ICD-9 code", "POST", "/v1/patients/p-1/conditions", "clin", swap(condition1Body, `I50.22`, `428.22`), nil, 400, errs.Invalid, "code"},
		{"significant risk missing", "POST", "/v1/patients/p-1/conditions", "clin", swap(condition1Body, `,"significantRisk":true`, ``), nil, 400, errs.Invalid, "significantRisk"},
		{"duration zero", "POST", "/v1/patients/p-1/conditions", "clin", swap(condition1Body, `120`, `0`), nil, 400, errs.Invalid, "expectedDurationMonths"},
		{"duration a string", "POST", "/v1/patients/p-1/conditions", "clin", swap(condition1Body, `120`, `"120"`), nil, 400, errs.Invalid, "expectedDurationMonths"},
		// Revocation before consent, and other state rules.
		{"revocation before the consent", "POST", "/v1/patients/p-1/consents/c-1/revocation", "clin", swap(revocationBody, `2025-03-10T16:00:00-05:00`, `2025-03-03T09:59:59-06:00`), nil, 400, errs.Invalid, "revokedAt"},
		{"revocation of a declined consent", "POST", "/v1/patients/p-1/consents/c-declined/revocation", "clin", revocationBody, nil, 409, errs.Conflict, ""},
		{"revocation of an unknown consent", "POST", "/v1/patients/p-1/consents/c-404/revocation", "clin", revocationBody, nil, 404, errs.NotFound, ""},
		{"condition for an unknown patient", "POST", "/v1/patients/p-404/conditions", "clin", condition1Body, nil, 404, errs.NotFound, ""},
		{"consent for an unknown patient", "POST", "/v1/patients/p-404/consents", "clin", consentBody, nil, 404, errs.NotFound, ""},
		{"patient enrolled twice (new body)", "POST", "/v1/patients", "clin", swap(patientBody, `MRN-1`, `MRN-2`), nil, 409, errs.Conflict, ""},
		{"consent id reused for another consent", "POST", "/v1/patients/p-1/consents", "clin", consent(`RN Jo`, `RN Al`), nil, 409, errs.Conflict, ""},
		// Other formats.
		{"bad MBI", "POST", "/v1/patients", "clin", swap(patientBody, `"p-1"`, `"p-9"`, `1EG4TE5MK73`, `1EG4TE5MK7`), nil, 400, errs.Invalid, "mbi"},
		{"bad time zone", "PUT", "/v1/practice", "admin", swap(practiceBody, `America/Chicago`, `Central`), nil, 400, errs.Invalid, "timezone"},
		{"bad tax id", "PUT", "/v1/practice", "admin", swap(practiceBody, `12-3456789`, `12-345`), nil, 400, errs.Invalid, "taxId"},
		{"obtainedAt without offset", "POST", "/v1/patients/p-1/consents", "clin", consent(`"c-1"`, `"c-9"`, `2025-03-03T10:00:00-06:00`, `2025-03-03T10:00:00`), nil, 400, errs.Invalid, "obtainedAt"},
		// Unknown fields.
		{"unknown field", "POST", "/v1/patients/p-1/consents", "clin", consent(`"program"`, `"witness":"x","program"`), nil, 400, errs.Invalid, "witness"},
		{"unknown patient field", "POST", "/v1/patients", "clin", swap(patientBody, `"mrn"`, `"ssn":"x","mrn"`), nil, 400, errs.Invalid, "ssn"},
		{"unknown policy key", "PUT", "/v1/practice", "admin", swap(practiceBody, `"lateEntryDays"`, `"lateEntryDayz"`), nil, 400, errs.Invalid, "policy.lateEntryDayz"},
		{"not JSON", "POST", "/v1/patients/p-1/conditions", "clin", `{"code":`, nil, 400, errs.Invalid, ""},
		// Authentication and roles.
		{"missing token", "POST", "/v1/patients/p-1/consents", "", consent(`"c-1"`, `"c-9"`), nil, 401, errs.Unauthorized, ""},
		{"unknown token", "POST", "/v1/patients/p-1/consents", "clg_nope_nope", consent(`"c-1"`, `"c-9"`), nil, 401, errs.Unauthorized, ""},
		{"biller writes a consent", "POST", "/v1/patients/p-1/consents", "biller", consent(`"c-1"`, `"c-9"`), nil, 403, errs.Forbidden, ""},
		{"auditor writes a condition", "POST", "/v1/patients/p-1/conditions", "auditor", condition2Body, nil, 403, errs.Forbidden, ""},
		{"biller revokes", "POST", "/v1/patients/p-1/consents/c-1/revocation", "biller", revocationBody, nil, 403, errs.Forbidden, ""},
		{"auditor enrolls", "POST", "/v1/patients", "auditor", swap(patientBody, `"p-1"`, `"p-9"`), nil, 403, errs.Forbidden, ""},
		{"clinician configures the practice", "PUT", "/v1/practice", "clin", practiceBody, nil, 403, errs.Forbidden, ""},
		{"clinician registers a practitioner", "PUT", "/v1/practitioners/" + npiB, "clin", practitionerBody, nil, 403, errs.Forbidden, ""},
		{"missing token on a read", "GET", "/v1/patients/p-1", "", "", nil, 401, errs.Unauthorized, ""},
		{"bad Idempotency-Key", "POST", "/v1/patients/p-1/conditions", "clin", condition2Body, []string{"Idempotency-Key", "clé"}, 400, errs.Invalid, "Idempotency-Key"},
	}
	tokens := map[string]string{"clin": w.clinician, "biller": w.biller, "auditor": w.auditor, "admin": adminToken}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, ok := tokens[tt.token]
			if !ok {
				tok = tt.token
			}
			before := w.node.last(t)
			r := a.do(tt.method, tt.path, tok, tt.body, tt.headers...)
			if r.status != tt.status || r.err.Code != tt.code || r.err.Field != tt.field {
				t.Errorf("got %d %s, want %d %s field %q", r.status, r.raw, tt.status, tt.code, tt.field)
			}
			if r.err.Message == "" {
				t.Errorf("got %s, want an error message", r.raw)
			}
			for _, phi := range []string{"Lovelace", "1EG4", "MRN-1"} {
				if strings.Contains(r.err.Message, phi) {
					t.Errorf("message %q holds patient data %q", r.err.Message, phi)
				}
			}
			if after := w.node.last(t); after != before {
				t.Errorf("log: got last sequence %d, want %d (nothing written)", after, before)
			}
		})
	}
}

// swap replaces each old with its new, failing loudly when old is absent.
func swap(s string, pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			panic(fmt.Sprintf("swap: %q not in %s", pairs[i], s))
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestRetriesWriteOnce(t *testing.T) {
	w := newWorld(t)
	w.setUp(t)
	a := w.app
	tests := []struct {
		name, method, path, body string
		headers                  []string
		token                    string
	}{
		{"consent by client id", "POST", "/v1/patients/p-1/consents", consentBody, nil, w.clinician},
		{"patient by client id", "POST", "/v1/patients", swap(patientBody, `"p-1"`, `"p-2"`), nil, w.clinician},
		{"patient by Idempotency-Key", "POST", "/v1/patients", swap(patientBody, `"id":"p-1",`, ``), []string{"Idempotency-Key", "enrol-42"}, w.clinician},
		{"condition by Idempotency-Key", "POST", "/v1/patients/p-1/conditions", condition1Body, []string{"Idempotency-Key", "cond-42"}, w.clinician},
		{"consent by Idempotency-Key", "POST", "/v1/patients/p-1/consents", swap(consentBody, `"id":"c-1",`, ``), []string{"Idempotency-Key", "consent-42"}, w.clinician},
		{"revocation", "POST", "/v1/patients/p-1/consents/c-1/revocation", revocationBody, nil, w.clinician},
		{"practitioner PUT", "PUT", "/v1/practitioners/" + npiB, practitionerBody, nil, adminToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.node.last(t)
			first := a.must(201, tt.method, tt.path, tt.token, tt.body, tt.headers...)
			for range 3 {
				again := a.must(200, tt.method, tt.path, tt.token, tt.body, tt.headers...)
				if !bytes.Equal(again.raw, first.raw) {
					t.Errorf("retry: got %s, want the original %s", again.raw, first.raw)
				}
			}
			if after := w.node.last(t); after != before+1 {
				t.Errorf("log: got %d events written, want 1", after-before)
			}
		})
	}

	// The same id with another body is a conflict and writes nothing.
	before := w.node.last(t)
	r := a.do("POST", "/v1/patients/p-1/consents", w.clinician, swap(consentBody, `"verbal"`, `"written"`))
	if r.status != 409 || r.err.Code != errs.Conflict {
		t.Errorf("same id, other body: got %d %s, want 409 conflict", r.status, r.raw)
	}
	r = a.do("POST", "/v1/patients/p-1/consents", w.clinician, swap(consentBody, `"accepted"`, `"declined"`))
	if r.status != 409 {
		t.Errorf("same id, other decision: got %d %s, want 409 conflict", r.status, r.raw)
	}
	r = a.do("POST", "/v1/patients/p-1/conditions", w.clinician, condition2Body, "Idempotency-Key", "cond-42")
	if r.status != 409 {
		t.Errorf("same key, other body: got %d %s, want 409 conflict", r.status, r.raw)
	}
	r = a.do("POST", "/v1/patients/p-1/consents/c-1/revocation", w.clinician, swap(revocationBody, `prefers`, `would rather`))
	if r.status != 409 {
		t.Errorf("second revocation: got %d %s, want 409 conflict", r.status, r.raw)
	}
	if after := w.node.last(t); after != before {
		t.Errorf("log: got %d events written by conflicts, want 0", after-before)
	}

	// PUT is idempotent by content: A, A (200), B (201), A (201 again).
	a1 := a.must(200, "PUT", "/v1/practice", adminToken, practiceBody)
	b := a.must(201, "PUT", "/v1/practice", adminToken, swap(practiceBody, `Prairie Clinic`, `Prairie Health`))
	a2 := a.must(201, "PUT", "/v1/practice", adminToken, practiceBody)
	if bytes.Equal(a1.raw, a2.raw) || bytes.Equal(b.raw, a2.raw) {
		t.Errorf("A→B→A: got %s then %s, want a new event for the second A", a1.raw, a2.raw)
	}
	got := a.must(200, "GET", "/v1/practice", w.clinician, "")
	if !bytes.Equal(got.raw, a2.raw) {
		t.Errorf("GET practice: got %s, want %s", got.raw, a2.raw)
	}
}

func TestConcurrentWriters(t *testing.T) {
	// Two service instances (two processes' worth of executors and caches)
	// on one log write to the same patient at once: each append is guarded
	// by the stream's revision and retried, so every distinct write lands
	// once, and concurrent retries of one consent write once.
	w := newWorld(t)
	w.setUp(t)
	other := startApp(t, w.node, w.clk)
	apps := []*app{w.app, other}
	before := w.node.last(t)
	const n = 12
	var wg sync.WaitGroup
	statuses := make([]int, 2*n)
	for i := range n {
		wg.Go(func() {
			body := swap(condition2Body, `E11.65`, fmt.Sprintf("K%02d.1", i))
			statuses[i] = apps[i%2].do("POST", "/v1/patients/p-1/conditions", w.clinician, body).status
		})
		wg.Go(func() {
			statuses[n+i] = apps[i%2].do("POST", "/v1/patients/p-1/consents", w.clinician, consentBody).status
		})
	}
	wg.Wait()
	created := 0
	for i, s := range statuses {
		switch {
		case i < n && s != 201:
			t.Errorf("condition %d: got %d, want 201", i, s)
		case i >= n && s == 201:
			created++
		case i >= n && s != 200:
			t.Errorf("consent retry %d: got %d, want 200", i-n, s)
		}
	}
	if created != 1 {
		t.Errorf("consent: got %d created, want 1", created)
	}
	if after := w.node.last(t); after != before+n+1 {
		t.Errorf("log: got %d events, want %d", after-before, n+1)
	}
	var sum struct {
		Conditions []struct{ Code string }
		Consents   []struct{ ID string }
	}
	other.must(200, "GET", "/v1/patients/p-1", w.biller, "").json(t, &sum)
	if len(sum.Conditions) != n || len(sum.Consents) != 1 {
		t.Errorf("summary: got %d conditions, %d consents, want %d and 1", len(sum.Conditions), len(sum.Consents), n)
	}
}

func TestNATSCommandsMatchHTTP(t *testing.T) {
	w := newWorld(t)
	a := w.app
	nc := testenv.Connect(t, w.node.srv)
	request := func(subject, token, body string, params ...string) (int, []byte) {
		t.Helper()
		m := nats.NewMsg(subject)
		if token != "" {
			m.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(params); i += 2 {
			m.Header.Set(natsapi.HeaderParamPrefix+params[i], params[i+1])
		}
		m.Data = []byte(body)
		reply, err := nc.RequestMsg(m, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		return natsapi.Status(reply), bytes.TrimSpace(reply.Data)
	}

	// Every write works over NATS.
	steps := []struct {
		subject, token, body string
		params               []string
	}{
		{"carelog.cmd.practice.configure", adminToken, practiceBody, nil},
		{"carelog.cmd.practitioners.register", adminToken, practitionerBody, []string{"Npi", npiA}},
		{"carelog.cmd.patients.enroll", w.clinician, patientBody, nil},
		{"carelog.cmd.conditions.record", w.clinician, condition1Body, []string{"Id", "p-1"}},
		{"carelog.cmd.consents.record", w.clinician, consentBody, []string{"Id", "p-1"}},
		{"carelog.cmd.consents.revoke", w.clinician, revocationBody, []string{"Id", "p-1", "ConsentId", "c-1"}},
	}
	var consentReply []byte
	for _, s := range steps {
		status, body := request(s.subject, s.token, s.body, s.params...)
		if status != 201 {
			t.Fatalf("%s: got %d %s, want 201", s.subject, status, body)
		}
		if s.subject == "carelog.cmd.consents.record" {
			consentReply = body
		}
	}
	// The same consent over HTTP is the same write: 200 with the same body.
	if r := a.must(200, "POST", "/v1/patients/p-1/consents", w.clinician, consentBody); !bytes.Equal(r.raw, consentReply) {
		t.Errorf("HTTP: got %s, want the NATS reply %s", r.raw, consentReply)
	}
	// And the other way round: HTTP first, then NATS replays it.
	second := swap(consentBody, `"c-1"`, `"c-2"`)
	r := a.must(201, "POST", "/v1/patients/p-1/consents", w.clinician, second)
	if status, body := request("carelog.cmd.consents.record", w.clinician, second, "Id", "p-1"); status != 200 || !bytes.Equal(body, r.raw) {
		t.Errorf("NATS: got %d %s, want 200 %s", status, body, r.raw)
	}
	// Errors are the same too, and write nothing.
	before := w.node.last(t)
	bad := []struct {
		body, token string
	}{
		{swap(consentBody, `"c-1"`, `"c-3"`, `"ccm"`, `"xyz"`), w.clinician},
		{swap(consentBody, `"c-1"`, `"c-3"`), w.biller},
		{swap(consentBody, `"c-1"`, `"c-3"`), ""},
	}
	for _, b := range bad {
		hr := a.do("POST", "/v1/patients/p-1/consents", b.token, b.body)
		status, body := request("carelog.cmd.consents.record", b.token, b.body, "Id", "p-1")
		if status != hr.status || !bytes.Equal(body, hr.raw) {
			t.Errorf("NATS %d %s, HTTP %d %s: want the same", status, body, hr.status, hr.raw)
		}
	}
	if status, _ := request("carelog.cmd.consents.record", w.clinician, consentBody); status != 400 {
		t.Errorf("missing Carelog-Param-Id: got %d, want 400", status)
	}
	if after := w.node.last(t); after != before {
		t.Errorf("log: got %d events from bad commands, want 0", after-before)
	}
}

func TestRestartRebuildsIdenticalReadModels(t *testing.T) {
	w := newWorld(t)
	w.setUp(t)
	a := w.app
	a.must(201, "PUT", "/v1/practitioners/"+npiB, adminToken, `{"name":"Grace Hopper","kind":"np","credential":"FNP-BC"}`)
	a.must(201, "POST", "/v1/patients/p-1/conditions", w.clinician, condition1Body)
	a.must(201, "POST", "/v1/patients/p-1/conditions", w.clinician, condition2Body)
	a.must(201, "POST", "/v1/patients/p-1/consents", w.clinician, consentBody)
	a.must(201, "POST", "/v1/patients/p-1/consents/c-1/revocation", w.clinician, revocationBody)
	w.appendDirect(t, "careplan-cp-1", events.TypeCarePlanEstablished, "p-1", events.CarePlanEstablished{ID: "cp-1", Kind: "comprehensive", EstablishedAt: start, AuthorNPI: npiA})
	w.appendDirect(t, "enc-1", events.TypeEncounterRecorded, "p-1", events.EncounterRecorded{ID: "e-1", Kind: "office_visit", Start: start, CCMDiscussed: true})
	reads := []string{"/v1/patients/p-1", "/v1/practice", "/v1/practitioners", "/v1/practitioners/" + npiB}
	want := map[string][]byte{}
	for _, p := range reads {
		want[p] = a.must(200, "GET", p, w.auditor, "").raw
	}
	last := w.node.last(t)

	// A new service on the same log rebuilds the same read model.
	a.stop()
	b := startApp(t, w.node, w.clk)
	for _, p := range reads {
		if got := b.must(200, "GET", p, w.auditor, "").raw; !bytes.Equal(got, want[p]) {
			t.Errorf("%s after a service restart: got %s, want %s", p, got, want[p])
		}
	}

	// A restarted node (the process exits; the store is reopened from disk)
	// loses no acknowledged write, and the read model is identical.
	b.stop()
	w.node.shutdown()
	n2 := startNode(t, w.node.dir, w.clk)
	if got := n2.last(t); got != last {
		t.Fatalf("log after restart: got last sequence %d, want %d", got, last)
	}
	c := startApp(t, n2, w.clk)
	auditor := n2.token(t, auth.Auditor)
	for _, p := range reads {
		if got := c.must(200, "GET", p, auditor, "").raw; !bytes.Equal(got, want[p]) {
			t.Errorf("%s after a node restart: got %s, want %s", p, got, want[p])
		}
	}
	// Writes continue where they stopped, idempotency included.
	c.must(200, "POST", "/v1/patients/p-1/consents", n2.token(t, auth.Clinician), consentBody)
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	w := newWorld(t)
	doc, err := w.app.spec.Document("Carelog", "test", w.app.echo.Routes())
	if err != nil {
		t.Fatalf("Document: %v", err)
	}
	var d struct {
		Paths map[string]map[string]struct {
			Roles []string `json:"x-roles"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"/v1/practice":                                      {"put", "get"},
		"/v1/practitioners":                                 {"get"},
		"/v1/practitioners/{npi}":                           {"put", "get"},
		"/v1/patients":                                      {"post"},
		"/v1/patients/{id}":                                 {"get"},
		"/v1/patients/{id}/conditions":                      {"post"},
		"/v1/patients/{id}/consents":                        {"post"},
		"/v1/patients/{id}/consents/{consentId}/revocation": {"post"},
	}
	for path, methods := range want {
		for _, m := range methods {
			op, ok := d.Paths[path][m]
			if !ok || len(op.Roles) == 0 {
				t.Errorf("%s %s: got %+v, want an operation with roles", m, path, op)
			}
		}
	}
	// Every command subject maps onto a described route.
	for _, c := range w.app.svc.Commands() {
		if !strings.HasPrefix(c.Subject, "carelog.cmd.") {
			t.Errorf("subject %s: want carelog.cmd.<resource>.<action>", c.Subject)
		}
		p := c.Path
		for _, param := range c.Params() {
			p = strings.Replace(p, ":"+param, "{"+param+"}", 1)
		}
		if _, ok := d.Paths[p][strings.ToLower(c.Method)]; !ok {
			t.Errorf("command %s: %s %s is not a described route", c.Subject, c.Method, p)
		}
	}
}

func TestNewRequiresDeps(t *testing.T) {
	if _, err := consent.New(consent.Config{}, consent.Deps{}); err == nil {
		t.Error("got no error without Log and Spec, want one")
	}
	if _, err := consent.New(consent.Config{CachedPatients: -1}, consent.Deps{}); err == nil {
		t.Error("got no error for a negative cache size, want one")
	}
}
