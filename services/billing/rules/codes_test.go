package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carelog/carelog/services/billing/rules/scenariotest"
)

// addedCodes are the codes this package added to reason-codes.md's list
// (documented in codes.go); every other code must appear there verbatim.
var addedCodes = []ReasonCode{ReasonDuplicateClaim, ReasonPractitionerNotEligible, ReasonCodeNotInEffect, ExcludedSupervisionNotMet}

var allCodes = []ReasonCode{
	ReasonBelowThreshold, ReasonInsufficientChronicConditions, ReasonNoConsent, ReasonConsentOtherPractitioner,
	ReasonNoCarePlan, ReasonNoInitiatingVisit, ReasonBilledByOtherPractitioner, ReasonCCMAndPCMSamePractitioner,
	ReasonBundledInAPCM, ReasonOverlappingServiceExclusion, ReasonPatientDeceased,
	ReasonConsentElementsIncomplete, ReasonCarePlanCopyNotProvided, ReasonCarePlanIncomplete, ReasonComplexityNotDocumented,
	ExcludedNonClinicalStaff, ExcludedBeforeConsent, ExcludedAfterRevocation, ExcludedCountedForOtherProgram,
	ExcludedDuringBilledVisit, ExcludedInpatientStay, ExcludedDuplicateEntry, ExcludedOverlappingTime,
	ExcludedSharedSession, ExcludedUnansweredOutreach, ExcludedOtherMonth, ExcludedVoided, ExcludedAfterDeath,
	FlagSameDayAsVisit, FlagLateEntry, FlagComplexityDowngraded, FlagPostCloseChange, FlagPathwayPolicyApplied,
}

// TestReasonCodesMatchTheList checks the constants against
// shared/domain/reason-codes.md when it can be found above the working
// directory.
func TestReasonCodesMatchTheList(t *testing.T) {
	path := ""
	if s := scenariotest.FindShared(); s != "" {
		path = filepath.Join(filepath.Dir(s), "reason-codes.md")
	}
	b, err := os.ReadFile(path)
	if path == "" || err != nil {
		t.Log("reason-codes.md not found above the working directory; nothing to compare")
		return
	}
	doc := string(b)
	for _, c := range allCodes {
		if !strings.Contains(doc, "`"+string(c)+"`") {
			t.Errorf("code %s: got no entry in %s, want one", c, path)
		}
	}
	for _, c := range addedCodes {
		if strings.Contains(doc, "`"+string(c)+"`") {
			t.Logf("added code %s is now in reason-codes.md; move it to allCodes", c)
		}
	}
	for _, s := range []Status{StatusBillable, StatusHold, StatusNotBillable, StatusBilled} {
		if !strings.Contains(doc, "`"+string(s)+"`") {
			t.Errorf("status %s: got no entry in %s, want one", s, path)
		}
	}
}

// TestCodeTable checks the table's internal consistency: add-ons name an
// existing base whose period covers theirs; timed bases have a threshold,
// add-ons an increment.
func TestCodeTable(t *testing.T) {
	for _, c := range CodeTable {
		if c.Pathway == "" {
			continue
		}
		if c.Base == "" {
			if c.Threshold <= 0 || c.MaxUnits != 1 {
				t.Errorf("%s: got threshold %d max %d, want a threshold and 1 unit", c.Code, c.Threshold, c.MaxUnits)
			}
			continue
		}
		if c.Increment <= 0 {
			t.Errorf("%s: got increment %d, want > 0", c.Code, c.Increment)
		}
		for _, m := range []Month{c.From, c.To} {
			if m.IsZero() {
				continue
			}
			if b, ok := LookupCode(c.Base, m); !ok || b.Pathway != c.Pathway {
				t.Errorf("%s in %s: got base %s missing or on another pathway", c.Code, m, c.Base)
			}
		}
	}
	for _, tc := range []struct {
		code, month string
		want        bool
	}{
		{"G2058", "2019-12", false}, {"G2058", "2020-01", true}, {"G2058", "2020-12", true}, {"G2058", "2021-01", false},
		{"99439", "2020-12", false}, {"99439", "2021-01", true},
		{"99437", "2021-12", false}, {"99437", "2022-01", true},
		{"99424", "2021-12", false}, {"99427", "2022-01", true},
		{"G2065", "2021-12", true}, {"G2065", "2022-01", false},
		{"G0557", "2024-12", false}, {"G0557", "2025-01", true},
	} {
		if _, ok := LookupCode(tc.code, MustMonth(tc.month)); ok != tc.want {
			t.Errorf("LookupCode(%s, %s): got %v, want %v", tc.code, tc.month, ok, tc.want)
		}
	}
	for code, want := range map[string]claimClass{"99490": classCCM, "G2064": classPCM, "G0558": classAPCM, "90951": classCPOESRD, "90970": classCPOESRD, "90971": classOther, "99496": classTCM, "99214": classOther} {
		if got := classify(code); got != want {
			t.Errorf("classify(%s): got %q, want %q", code, got, want)
		}
	}
}
