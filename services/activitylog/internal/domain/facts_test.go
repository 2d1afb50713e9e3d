package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/activitylog/internal/domain"
)

func TestEncounterRules(t *testing.T) {
	rules := domain.DefaultRules()
	valid := func() domain.EncounterInput {
		return domain.EncounterInput{Kind: "office_visit", Code: "99214", PractitionerNPI: npi,
			Start: "2025-03-10T09:00:00-05:00", End: "2025-03-10T09:40:00-05:00", TimeBased: true, CCMDiscussed: true}
	}
	tests := []struct {
		name      string
		id        string
		edit      func(*domain.EncounterInput)
		wantField string
	}{
		{"office visit", "v-1", func(*domain.EncounterInput) {}, ""},
		{"AWV with G0506", "v-1", func(in *domain.EncounterInput) { in.Kind, in.Code, in.G0506 = "annual_wellness_visit", "G0438", true }, ""},
		{"open inpatient stay", "s-1", func(in *domain.EncounterInput) {
			in.Kind, in.Code, in.PractitionerNPI, in.End, in.TimeBased, in.CCMDiscussed = "inpatient_stay", "", "", "", false, false
		}, ""},
		{"bad id", "v 1", func(*domain.EncounterInput) {}, "id"},
		{"kind missing", "v-1", func(in *domain.EncounterInput) { in.Kind = "" }, "kind"},
		{"kind unknown", "v-1", func(in *domain.EncounterInput) { in.Kind = "telehealth" }, "kind"},
		{"code malformed", "v-1", func(in *domain.EncounterInput) { in.Code = "9921" }, "code"},
		{"NPI bad check digit", "v-1", func(in *domain.EncounterInput) { in.PractitionerNPI = "1234567890" }, "practitionerNpi"},
		{"start missing", "v-1", func(in *domain.EncounterInput) { in.Start = "" }, "start"},
		{"start without offset", "v-1", func(in *domain.EncounterInput) { in.Start = "2025-03-10T09:00:00" }, "start"},
		{"start in the future", "v-1", func(in *domain.EncounterInput) { in.Start, in.End = "2025-03-20T09:00:00Z", "" }, "start"},
		{"end before start", "v-1", func(in *domain.EncounterInput) { in.End = "2025-03-10T08:00:00-05:00" }, "end"},
		{"end in the future", "v-1", func(in *domain.EncounterInput) { in.Kind, in.End = "snf_stay", "2025-04-01T00:00:00Z" }, "end"},
		{"timeBased on a stay", "s-1", func(in *domain.EncounterInput) { in.Kind, in.CCMDiscussed = "snf_stay", false }, "timeBased"},
		{"g0506 on a stay", "s-1", func(in *domain.EncounterInput) {
			in.Kind, in.TimeBased, in.CCMDiscussed, in.G0506 = "inpatient_stay", false, false, true
		}, "g0506"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.edit(&in)
			e, err := rules.Encounter(tt.id, in, now)
			if tt.wantField == "" {
				wantErr(t, err, "", "")
				if e.ID != tt.id || e.Start.IsZero() {
					t.Errorf("got %+v, want id %s and a start", e, tt.id)
				}
				return
			}
			wantErr(t, err, errs.Invalid, tt.wantField)
		})
	}
}

func TestExternalClaimRules(t *testing.T) {
	rules := domain.DefaultRules()
	valid := func() domain.ExternalClaimInput {
		return domain.ExternalClaimInput{Code: "99490", PractitionerNPI: npi, ServiceMonth: "2025-02", DateOfService: "2025-02-28", Status: "paid"}
	}
	tests := []struct {
		name      string
		edit      func(*domain.ExternalClaimInput)
		wantField string
	}{
		{"paid claim", func(*domain.ExternalClaimInput) {}, ""},
		{"current month, no date, no status", func(in *domain.ExternalClaimInput) { in.ServiceMonth, in.DateOfService, in.Status = "2025-03", "", "" }, ""},
		{"HCPCS code", func(in *domain.ExternalClaimInput) { in.Code = "G0181" }, ""},
		{"code missing", func(in *domain.ExternalClaimInput) { in.Code = "" }, "code"},
		{"code malformed", func(in *domain.ExternalClaimInput) { in.Code = "CCM" }, "code"},
		{"NPI missing", func(in *domain.ExternalClaimInput) { in.PractitionerNPI = "" }, "practitionerNpi"},
		{"NPI invalid", func(in *domain.ExternalClaimInput) { in.PractitionerNPI = "1111111111" }, "practitionerNpi"},
		{"month missing", func(in *domain.ExternalClaimInput) { in.ServiceMonth = "" }, "serviceMonth"},
		{"month malformed", func(in *domain.ExternalClaimInput) { in.ServiceMonth = "2025-2" }, "serviceMonth"},
		{"month in the future", func(in *domain.ExternalClaimInput) { in.ServiceMonth, in.DateOfService = "2025-04", "" }, "serviceMonth"},
		{"date malformed", func(in *domain.ExternalClaimInput) { in.DateOfService = "28/02/2025" }, "dateOfService"},
		{"date outside the month", func(in *domain.ExternalClaimInput) { in.DateOfService = "2025-03-01" }, "dateOfService"},
		{"date in the future", func(in *domain.ExternalClaimInput) { in.ServiceMonth, in.DateOfService = "2025-03", "2025-03-20" }, "dateOfService"},
		{"status not in the usual list", func(in *domain.ExternalClaimInput) { in.Status = "Approved" }, ""},
		{"status blank", func(in *domain.ExternalClaimInput) { in.Status = "  " }, "status"},
		{"status too long", func(in *domain.ExternalClaimInput) { in.Status = strings.Repeat("x", domain.MaxClaimStatus+1) }, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.edit(&in)
			_, err := rules.ExternalClaim(in, now)
			if tt.wantField == "" {
				wantErr(t, err, "", "")
				return
			}
			wantErr(t, err, errs.Invalid, tt.wantField)
		})
	}
}

func TestClaimOccurredAt(t *testing.T) {
	c, _ := domain.DefaultRules().ExternalClaim(domain.ExternalClaimInput{Code: "99490", PractitionerNPI: npi, ServiceMonth: "2025-02"}, now)
	if got := domain.ClaimOccurredAt(c); !got.Equal(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("without a date: got %v, want the first of the month", got)
	}
	c.DateOfService = "2025-02-17"
	if got := domain.ClaimOccurredAt(c); !got.Equal(time.Date(2025, 2, 17, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("with a date: got %v, want 2025-02-17", got)
	}
}

// A claim status is any short text (api/contract.md lists none), stored
// trimmed in lower case, which is how the billing rules compare it.
func TestClaimStatusStoredLowerCase(t *testing.T) {
	c, err := domain.DefaultRules().ExternalClaim(domain.ExternalClaimInput{Code: "99490", PractitionerNPI: npi, ServiceMonth: "2025-02", Status: " Canceled "}, now)
	if err != nil || c.Status != "canceled" {
		t.Fatalf("status \" Canceled \": got %q, %v; want \"canceled\", nil", c.Status, err)
	}
}
