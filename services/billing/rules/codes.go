package rules

import "strconv"

// RuleSetVersion names the rules and code tables this package implements;
// evaluations and claim batches report it (ccm-rules.md §9.5).
const RuleSetVersion = "2025.1"

// ReasonCode is a code from shared/domain/reason-codes.md. Codes are public
// API: add, never rename or reuse.
type ReasonCode string

// Why a month is not billable (status not_billable).
const (
	ReasonBelowThreshold                ReasonCode = "below_threshold"
	ReasonInsufficientChronicConditions ReasonCode = "insufficient_chronic_conditions"
	ReasonNoConsent                     ReasonCode = "no_consent"
	ReasonConsentOtherPractitioner      ReasonCode = "consent_other_practitioner"
	ReasonNoCarePlan                    ReasonCode = "no_care_plan"
	ReasonNoInitiatingVisit             ReasonCode = "no_initiating_visit"
	ReasonBilledByOtherPractitioner     ReasonCode = "billed_by_other_practitioner"
	ReasonCCMAndPCMSamePractitioner     ReasonCode = "ccm_and_pcm_same_practitioner"
	ReasonBundledInAPCM                 ReasonCode = "bundled_in_apcm"
	ReasonOverlappingServiceExclusion   ReasonCode = "overlapping_service_exclusion"
	ReasonPatientDeceased               ReasonCode = "patient_deceased"

	// Added by this package (document in reason-codes.md):

	// ReasonDuplicateClaim: the same practitioner already billed this
	// program for the patient and month outside Carelog (X3: one claim per
	// patient-month; OIG's largest overpayment category, §6.2).
	ReasonDuplicateClaim ReasonCode = "duplicate_claim"
	// ReasonPractitionerNotEligible: the billing practitioner's kind may not
	// bill CCM/PCM (§1.1: limited-license practitioners).
	ReasonPractitionerNotEligible ReasonCode = "practitioner_not_eligible"
	// ReasonCodeNotInEffect: no code of the program existed in the service
	// month (CCM before 2015, PCM before 2020).
	ReasonCodeNotInEffect ReasonCode = "code_not_in_effect"
)

// Why a month is on hold (status hold).
const (
	ReasonConsentElementsIncomplete ReasonCode = "consent_elements_incomplete"
	ReasonCarePlanCopyNotProvided   ReasonCode = "care_plan_copy_not_provided"
	ReasonCarePlanIncomplete        ReasonCode = "care_plan_incomplete"
	ReasonComplexityNotDocumented   ReasonCode = "complexity_not_documented"
)

// Why a time entry's minutes were not counted (excluded).
const (
	ExcludedNonClinicalStaff       ReasonCode = "non_clinical_staff"
	ExcludedBeforeConsent          ReasonCode = "before_consent"
	ExcludedAfterRevocation        ReasonCode = "after_revocation"
	ExcludedCountedForOtherProgram ReasonCode = "counted_for_other_program"
	ExcludedDuringBilledVisit      ReasonCode = "during_billed_visit"
	ExcludedInpatientStay          ReasonCode = "inpatient_stay"
	ExcludedDuplicateEntry         ReasonCode = "duplicate_entry"
	ExcludedOverlappingTime        ReasonCode = "overlapping_time"
	ExcludedSharedSession          ReasonCode = "shared_session"
	ExcludedUnansweredOutreach     ReasonCode = "unanswered_outreach"
	ExcludedOtherMonth             ReasonCode = "other_month"
	ExcludedVoided                 ReasonCode = "voided"
	ExcludedAfterDeath             ReasonCode = "after_death"

	// Added by this package: ExcludedSupervisionNotMet marks staff PCM
	// minutes without direct supervision when the practice requires it
	// (Policy.PCMSupervision "direct", A12).
	ExcludedSupervisionNotMet ReasonCode = "supervision_not_met"
)

// Flags (reported; the status does not change).
const (
	FlagSameDayAsVisit       ReasonCode = "same_day_as_visit"
	FlagLateEntry            ReasonCode = "late_entry"
	FlagComplexityDowngraded ReasonCode = "complexity_downgraded"
	FlagPostCloseChange      ReasonCode = "post_close_change"
	FlagPathwayPolicyApplied ReasonCode = "pathway_policy_applied"
)

// Status is a patient-month's billing status (reason-codes.md).
type Status string

// Statuses.
const (
	StatusBillable    Status = "billable"
	StatusHold        Status = "hold"
	StatusNotBillable Status = "not_billable"
	StatusBilled      Status = "billed"
)

// Pathway is how a month's minutes turn into codes (§1.2 columns).
type Pathway string

// Pathways (contract.md).
const (
	PathwayClinicalStaff   Pathway = "clinical_staff"
	PathwayComplex         Pathway = "complex"
	PathwayPractitioner    Pathway = "practitioner"
	PathwayPCMStaff        Pathway = "pcm_staff"
	PathwayPCMPractitioner Pathway = "pcm_practitioner"
)

// Performer says whose time a code measures.
type Performer string

// Performers (§1.1 "Who performs").
const (
	PerformerClinicalStaff Performer = "clinical_staff"
	PerformerPractitioner  Performer = "practitioner"
)

// CodeDef is one row of the effective-dated code table (§1.1, §1.2, §9.1).
// Fees are loaded elsewhere per year and locality (A14); a line carries only
// code and units.
type CodeDef struct {
	Code    string
	Program Program
	// Pathway is set on timed CCM/PCM codes, base and add-on alike.
	Pathway Pathway
	// Base is the base code of an add-on; empty for base codes.
	Base string
	// From and To bound the service months the code exists in; a zero To is
	// open-ended.
	From, To Month
	// Threshold is a base code's minutes for its single unit (T1).
	Threshold int
	// Increment is an add-on's full minutes per unit beyond the base
	// threshold (T2).
	Increment int
	// MaxUnits is the per-month frequency limit or MUE; 0 is uncapped.
	MaxUnits  int
	Performer Performer
	// Rule cites ccm-rules.md.
	Rule string
}

// EffectiveIn reports whether the code exists in service month m.
func (c CodeDef) EffectiveIn(m Month) bool {
	if m.Before(c.From) {
		return false
	}
	return c.To.IsZero() || !c.To.Before(m)
}

// CodeTable is the code table as data. Only timed monthly codes produce
// lines; the untimed rows (G0506, APCM) document codes the exclusion rules
// and other evaluations refer to.
var CodeTable = []CodeDef{
	// 99490: non-complex CCM, first 20 minutes of clinical staff time (§1.1, T1).
	{Code: "99490", Program: ProgramCCM, Pathway: PathwayClinicalStaff, From: MustMonth("2015-01"), Threshold: 20, MaxUnits: 1, Performer: PerformerClinicalStaff, Rule: "§1.1, T1"},
	// G2058: CY2020-only add-on, each full 20 minutes beyond 20, max 2 (§1.1, T2).
	{Code: "G2058", Program: ProgramCCM, Pathway: PathwayClinicalStaff, Base: "99490", From: MustMonth("2020-01"), To: MustMonth("2020-12"), Increment: 20, MaxUnits: 2, Performer: PerformerClinicalStaff, Rule: "§1.1, T2"},
	// T2: 99439 for each full 20 minutes beyond 20, at most 2 units (from 2021).
	{Code: "99439", Program: ProgramCCM, Pathway: PathwayClinicalStaff, Base: "99490", From: MustMonth("2021-01"), Increment: 20, MaxUnits: 2, Performer: PerformerClinicalStaff, Rule: "§1.1, T2"},
	// 99487: complex CCM, first 60 minutes, moderate/high MDM (§1.1, T11).
	{Code: "99487", Program: ProgramCCM, Pathway: PathwayComplex, From: MustMonth("2015-01"), Threshold: 60, MaxUnits: 1, Performer: PerformerClinicalStaff, Rule: "§1.1, T11"},
	// T2: 99489 for each full 30 minutes beyond 60, never for < 30 extra; MUE 10.
	{Code: "99489", Program: ProgramCCM, Pathway: PathwayComplex, Base: "99487", From: MustMonth("2015-01"), Increment: 30, MaxUnits: 10, Performer: PerformerClinicalStaff, Rule: "§1.1, T2"},
	// 99491: CCM personally by the billing practitioner, first 30 minutes
	// (CPT code since CY2019; §1.1 "before 2022: at least 30 minutes").
	{Code: "99491", Program: ProgramCCM, Pathway: PathwayPractitioner, From: MustMonth("2019-01"), Threshold: 30, MaxUnits: 1, Performer: PerformerPractitioner, Rule: "§1.1, T1"},
	// T2: 99437 for each full 30 minutes beyond 30 (new in 2022), MUE 2.
	{Code: "99437", Program: ProgramCCM, Pathway: PathwayPractitioner, Base: "99491", From: MustMonth("2022-01"), Increment: 30, MaxUnits: 2, Performer: PerformerPractitioner, Rule: "§1.1, T2"},
	// PCM 2020–2021 G-codes: 30 minutes, no add-on (§1.1, replaced in 2022).
	{Code: "G2064", Program: ProgramPCM, Pathway: PathwayPCMPractitioner, From: MustMonth("2020-01"), To: MustMonth("2021-12"), Threshold: 30, MaxUnits: 1, Performer: PerformerPractitioner, Rule: "§1.1"},
	{Code: "G2065", Program: ProgramPCM, Pathway: PathwayPCMStaff, From: MustMonth("2020-01"), To: MustMonth("2021-12"), Threshold: 30, MaxUnits: 1, Performer: PerformerClinicalStaff, Rule: "§1.1"},
	// PCM from 2022: 99424/99426 first 30 minutes; add-ons each full 30
	// beyond 30, cap only from the MUE table or practice policy (A12).
	{Code: "99424", Program: ProgramPCM, Pathway: PathwayPCMPractitioner, From: MustMonth("2022-01"), Threshold: 30, MaxUnits: 1, Performer: PerformerPractitioner, Rule: "§1.1"},
	{Code: "99425", Program: ProgramPCM, Pathway: PathwayPCMPractitioner, Base: "99424", From: MustMonth("2022-01"), Increment: 30, Performer: PerformerPractitioner, Rule: "§1.1, T2, A12"},
	{Code: "99426", Program: ProgramPCM, Pathway: PathwayPCMStaff, From: MustMonth("2022-01"), Threshold: 30, MaxUnits: 1, Performer: PerformerClinicalStaff, Rule: "§1.1"},
	{Code: "99427", Program: ProgramPCM, Pathway: PathwayPCMStaff, Base: "99426", From: MustMonth("2022-01"), Increment: 30, Performer: PerformerClinicalStaff, Rule: "§1.1, T2, A12"},
	// G0506: untimed, once per beneficiary with the initiating visit (I4);
	// billed on the visit claim, never a monthly line here.
	{Code: "G0506", Program: ProgramG0506, From: MustMonth("2017-01"), MaxUnits: 1, Performer: PerformerPractitioner, Rule: "I4, X11"},
	// APCM levels 1–3, untimed, from 2025 (X9).
	{Code: "G0556", From: MustMonth("2025-01"), MaxUnits: 1, Performer: PerformerClinicalStaff, Rule: "X9"},
	{Code: "G0557", From: MustMonth("2025-01"), MaxUnits: 1, Performer: PerformerClinicalStaff, Rule: "X9"},
	{Code: "G0558", From: MustMonth("2025-01"), MaxUnits: 1, Performer: PerformerClinicalStaff, Rule: "X9"},
}

// LookupCode returns the table row for code in month m.
func LookupCode(code string, m Month) (CodeDef, bool) {
	for i := range CodeTable {
		if c := &CodeTable[i]; c.Code == code && c.EffectiveIn(m) {
			return *c, true
		}
	}
	return CodeDef{}, false
}

// baseCode is the base code of pathway p in month m.
func baseCode(p Pathway, m Month) (CodeDef, bool) {
	for i := range CodeTable {
		if c := &CodeTable[i]; c.Pathway == p && c.Base == "" && c.EffectiveIn(m) {
			return *c, true
		}
	}
	return CodeDef{}, false
}

// addOnCode is the add-on of base in month m (none before it existed: 99490
// had no add-on before 2020, 99491 none before 2022).
func addOnCode(base string, m Month) (CodeDef, bool) {
	for i := range CodeTable {
		if c := &CodeTable[i]; c.Base == base && c.EffectiveIn(m) {
			return *c, true
		}
	}
	return CodeDef{}, false
}

// programInEffect reports whether any base code of program p exists in m.
func programInEffect(p Program, m Month) bool {
	for i := range CodeTable {
		if c := &CodeTable[i]; c.Program == p && c.Pathway != "" && c.Base == "" && c.EffectiveIn(m) {
			return true
		}
	}
	return false
}

// claimClass groups the codes that same-month exclusion rules refer to.
type claimClass string

const (
	classCCM     claimClass = "ccm"
	classPCM     claimClass = "pcm"
	classAPCM    claimClass = "apcm"
	classCPOESRD claimClass = "cpo_esrd"
	classTCM     claimClass = "tcm"
	classOther   claimClass = ""
)

var claimClasses = map[string]claimClass{
	"99490": classCCM, "99439": classCCM, "G2058": classCCM, "99487": classCCM,
	"99489": classCCM, "99491": classCCM, "99437": classCCM,
	"99424": classPCM, "99425": classPCM, "99426": classPCM, "99427": classPCM,
	"G2064": classPCM, "G2065": classPCM,
	"G0556": classAPCM, "G0557": classAPCM, "G0558": classAPCM,
	"G0181": classCPOESRD, "G0182": classCPOESRD,
	"99495": classTCM, "99496": classTCM,
}

// classify returns the class of a billed code; ESRD monthly services are the
// range 90951–90970 (X8).
func classify(code string) claimClass {
	if c, ok := claimClasses[code]; ok {
		return c
	}
	if n, err := strconv.Atoi(code); err == nil && n >= 90951 && n <= 90970 {
		return classCPOESRD
	}
	return classOther
}

// programClass is the claim class of a program's own codes.
func programClass(p Program) claimClass {
	if p == ProgramPCM {
		return classPCM
	}
	return classCCM
}
