package rules

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Policy holds a practice's setting for every ambiguity of ccm-rules.md §8,
// plus the late-entry window. It is the `policy` object of PUT /v1/practice.
//
// Every setting's empty value means its documented default, so a zero Policy
// (or one decoded from a partial JSON object) behaves as DefaultPolicy().
type Policy struct {
	// A1: CCM in the same month as home-health/hospice CPO (G0181/G0182) or
	// ESRD monthly services (90951–90970) by the same practitioner (X8).
	// "block_same_practitioner" (default) or "allow".
	CPOAndESRDOverlap string `json:"cpoAndEsrdOverlap"`
	// A2: minutes logged after a revocation within the same month (K7).
	// "exclude" (default: count only minutes before the revocation) or
	// "count_to_month_end" (the revocation takes effect at month end, K2c).
	AfterRevocation string `json:"afterRevocation"`
	// A3: a complex month (moderate/high MDM) that falls short of 60 minutes.
	// "fall_back_non_complex" (default, flagged complexity_downgraded) or
	// "not_billable".
	ComplexShortfall string `json:"complexShortfall"`
	// A4 (first part): the billing practitioner's own time counts as clinical
	// staff time for 99490/99487 (T4), which also bills physician-only months
	// of 20–29 minutes as 99490. "count_as_staff" (default) or "not_counted".
	PractitionerTimeAsStaff string `json:"practitionerTimeAsStaff"`
	// A4 (second part): practitioner and staff time both present (T5).
	// "combine_as_staff" (default: all time on the staff pathway) or
	// "practitioner" (99491/99424 from the practitioner's own time when it
	// reaches 30 minutes, staff time unbilled). Pathways never mix.
	MixedTimePathway string `json:"mixedTimePathway"`
	// A5: staff minutes on the date of a billed face-to-face visit, outside
	// the visit (T8). "count_and_flag" (default) or "exclude".
	SameDayStaffMinutes string `json:"sameDayStaffMinutes"`
	// A6: minutes on hospital/SNF inpatient days (X12). "exclude" (default)
	// or "count".
	InpatientDays string `json:"inpatientDays"`
	// A7: unanswered outreach attempts. "exclude" (default) or "count".
	UnansweredOutreach string `json:"unansweredOutreach"`
	// A8: date of service on the lines (T9). "month_end" (default: last day
	// of the month, or the date of death), "threshold_met" (the day the base
	// code's threshold was reached) or "month_start" (for MACs that want the
	// start of the 1st–last span).
	DateOfService string `json:"dateOfService"`
	// A9: month boundary (T12). "split_at_local_midnight" (default: each
	// minute belongs to the billing location's local calendar month) or
	// "entry_start" (an entry belongs wholly to the month it started in).
	MonthBoundary string `json:"monthBoundary"`
	// A10: several staff on the same session or activity at the same time.
	// "count_once" (default: wall-clock time once per session/activity;
	// distinct parallel activities each count) or "count_each".
	SimultaneousStaff string `json:"simultaneousStaff"`
	// A11: consent renewal (K4). "once" (default: no forced re-consent) or
	// "annual" (a consent obtained more than 12 months before the month
	// starts no longer counts).
	ConsentRenewal string `json:"consentRenewal"`
	// A12: PCM staff supervision. "general" (default) or "direct" (staff PCM
	// minutes count only from entries marked DirectSupervision).
	PCMSupervision string `json:"pcmSupervision"`
	// A12: practice cap on PCM add-on units (99425/99427); 0 (default) means
	// no cap beyond the code table's MUE.
	PCMAddOnMaxUnits int `json:"pcmAddOnMaxUnits"`
	// A13: TCM and CTBS codes when the same practitioner bills APCM.
	// "block_same_practitioner" (default) or "allow". The CCM/PCM engine is
	// unaffected (X9 bundles CCM and PCM into APCM either way); the TCM
	// evaluation reads it.
	APCMBundling string `json:"apcmBundling"`
	// A15: death within the service month. "bill_if_threshold_met" (default:
	// minutes up to the date of death count, DOS no later than that date) or
	// "not_billable".
	DeathInMonth string `json:"deathInMonth"`
	// LateEntryDays: an entry recorded more than this many days after the
	// work is flagged late_entry (not §8). 0 means the default of 7.
	LateEntryDays int `json:"lateEntryDays"`
	// PCMConsent: which consent lets PCM be billed (not §8; contract.md has
	// consents per program). "pcm_or_ccm" (default: a CCM consent, whose
	// disclosures are the same, also covers PCM) or "pcm_only".
	PCMConsent string `json:"pcmConsent"`
}

// Policy setting values.
const (
	BlockSamePractitioner = "block_same_practitioner"
	Allow                 = "allow"

	Exclude          = "exclude"
	Count            = "count"
	CountToMonthEnd  = "count_to_month_end"
	CountAndFlag     = "count_and_flag"
	CountAsStaff     = "count_as_staff"
	NotCounted       = "not_counted"
	CombineAsStaff   = "combine_as_staff"
	PractitionerPath = "practitioner"

	FallBackNonComplex = "fall_back_non_complex"
	NotBillable        = "not_billable"

	DOSMonthEnd     = "month_end"
	DOSThresholdMet = "threshold_met"
	DOSMonthStart   = "month_start"

	SplitAtLocalMidnight = "split_at_local_midnight"
	EntryStart           = "entry_start"

	CountOnce = "count_once"
	CountEach = "count_each"

	RenewOnce   = "once"
	RenewAnnual = "annual"

	SupervisionGeneral = "general"
	SupervisionDirect  = "direct"

	BillIfThresholdMet = "bill_if_threshold_met"

	PCMOrCCMConsent = "pcm_or_ccm"
	PCMConsentOnly  = "pcm_only"
)

// policySetting describes one string setting: its JSON name, its default
// (first) and the other allowed values, and where it lives in Policy.
type policySetting struct {
	name    string
	allowed []string
	field   func(*Policy) *string
}

var policySettings = []policySetting{
	{"cpoAndEsrdOverlap", []string{BlockSamePractitioner, Allow}, func(p *Policy) *string { return &p.CPOAndESRDOverlap }},
	{"afterRevocation", []string{Exclude, CountToMonthEnd}, func(p *Policy) *string { return &p.AfterRevocation }},
	{"complexShortfall", []string{FallBackNonComplex, NotBillable}, func(p *Policy) *string { return &p.ComplexShortfall }},
	{"practitionerTimeAsStaff", []string{CountAsStaff, NotCounted}, func(p *Policy) *string { return &p.PractitionerTimeAsStaff }},
	{"mixedTimePathway", []string{CombineAsStaff, PractitionerPath}, func(p *Policy) *string { return &p.MixedTimePathway }},
	{"sameDayStaffMinutes", []string{CountAndFlag, Exclude}, func(p *Policy) *string { return &p.SameDayStaffMinutes }},
	{"inpatientDays", []string{Exclude, Count}, func(p *Policy) *string { return &p.InpatientDays }},
	{"unansweredOutreach", []string{Exclude, Count}, func(p *Policy) *string { return &p.UnansweredOutreach }},
	{"dateOfService", []string{DOSMonthEnd, DOSThresholdMet, DOSMonthStart}, func(p *Policy) *string { return &p.DateOfService }},
	{"monthBoundary", []string{SplitAtLocalMidnight, EntryStart}, func(p *Policy) *string { return &p.MonthBoundary }},
	{"simultaneousStaff", []string{CountOnce, CountEach}, func(p *Policy) *string { return &p.SimultaneousStaff }},
	{"consentRenewal", []string{RenewOnce, RenewAnnual}, func(p *Policy) *string { return &p.ConsentRenewal }},
	{"pcmSupervision", []string{SupervisionGeneral, SupervisionDirect}, func(p *Policy) *string { return &p.PCMSupervision }},
	{"apcmBundling", []string{BlockSamePractitioner, Allow}, func(p *Policy) *string { return &p.APCMBundling }},
	{"deathInMonth", []string{BillIfThresholdMet, NotBillable}, func(p *Policy) *string { return &p.DeathInMonth }},
	{"pcmConsent", []string{PCMOrCCMConsent, PCMConsentOnly}, func(p *Policy) *string { return &p.PCMConsent }},
}

const defaultLateEntryDays = 7

// DefaultPolicy returns every setting at its ccm-rules.md §8 default, spelled
// out (what a new practice's policy object shows).
func DefaultPolicy() Policy {
	var p Policy
	return p.withDefaults()
}

// withDefaults fills empty (and unknown) settings with their defaults.
func (p Policy) withDefaults() Policy {
	// Every patient-month of a practice has the same policy: reuse the last
	// result (Policy is comparable; the pair is never modified once stored).
	if last := lastDefaults.Load(); last != nil && last[0] == p {
		return last[1]
	}
	in := p
	p = p.fillDefaults()
	lastDefaults.Store(&[2]Policy{in, p})
	return p
}

// lastDefaults is the last policy withDefaults completed and its result.
var lastDefaults atomic.Pointer[[2]Policy]

func (p Policy) fillDefaults() Policy {
	for _, s := range policySettings {
		v := s.field(&p)
		if !contains(s.allowed, *v) {
			*v = s.allowed[0]
		}
	}
	if p.LateEntryDays <= 0 {
		p.LateEntryDays = defaultLateEntryDays
	}
	if p.PCMAddOnMaxUnits < 0 {
		p.PCMAddOnMaxUnits = 0
	}
	return p
}

// Validate reports every unknown setting value at once. Empty values are
// valid (they mean the default).
func (p Policy) Validate() error {
	var errs []error
	for _, s := range policySettings {
		v := *s.field(&p)
		if v != "" && !contains(s.allowed, v) {
			errs = append(errs, fmt.Errorf("policy.%s: %q is not one of %v", s.name, v, s.allowed))
		}
	}
	if p.LateEntryDays < 0 {
		errs = append(errs, fmt.Errorf("policy.lateEntryDays: %d < 0", p.LateEntryDays))
	}
	if p.PCMAddOnMaxUnits < 0 {
		errs = append(errs, fmt.Errorf("policy.pcmAddOnMaxUnits: %d < 0", p.PCMAddOnMaxUnits))
	}
	return errors.Join(errs...)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
