package storetest

import (
	"fmt"
	"time"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// Fixtures fill every field, with nanosecond instants in UTC and non-nil
// slices everywhere (as the rules engine returns them), so a store that
// drops or rounds anything fails.

func intp(v int) *int { return &v }

func timep(t time.Time) *time.Time { return &t }

// instant is a UTC time with nanoseconds that no microsecond clock keeps.
func instant(day, hour int, nanos int) time.Time {
	return time.Date(2025, time.March, day, hour, 7, 26, nanos, time.UTC)
}

// evaluation is a full evaluation of patientID in month: two lines, a
// below-threshold reason with its minutes, a hold reason, a flag and two
// excluded entries. v varies the numbers so that rows differ.
func evaluation(patientID, month string, v int) rules.Evaluation {
	return rules.Evaluation{
		PatientID:       patientID,
		Month:           month,
		Status:          rules.StatusHold,
		Program:         rules.ProgramCCM,
		Pathway:         rules.PathwayClinicalStaff,
		CountedMinutes:  40 + v,
		UnbilledMinutes: v % 20,
		Lines: []rules.Line{
			{Code: "99490", Units: 1, DateOfService: month + "-31", PractitionerNPI: "1111111111",
				Diagnoses: []string{"I50.22", "E11.65"}, Evidence: []string{"ev-consent", "ev-plan", fmt.Sprintf("ev-te-%d", v)}},
			{Code: "99439", Units: 1 + v%2, DateOfService: month + "-31", PractitionerNPI: "1111111111",
				Diagnoses: []string{"I50.22", "E11.65"}, Evidence: []string{"ev-consent", "ev-plan", fmt.Sprintf("ev-te-%d", v)}},
		},
		Reasons: []rules.Reason{
			{Code: rules.ReasonCarePlanCopyNotProvided, Message: "no copy of the care plan was given to the patient"},
			{Code: rules.ReasonBelowThreshold, Message: "short of the threshold", Minutes: intp(12 + v), Needed: intp(20)},
		},
		Flags: []rules.Flag{{Code: rules.FlagLateEntry, Message: "recorded 9 days after the work"}},
		Excluded: []rules.Excluded{
			{EntryID: "te-x", Minutes: 5, Code: rules.ExcludedNonClinicalStaff},
			{EntryID: fmt.Sprintf("te-y-%d", v), Minutes: 3 + v, Code: rules.ExcludedBeforeConsent},
		},
		RuleSetVersion: rules.RuleSetVersion,
	}
}

// billable is a minimal billable evaluation, with empty (non-nil) slices.
func billable(patientID, month string, minutes int) rules.Evaluation {
	return rules.Evaluation{
		PatientID: patientID, Month: month, Status: rules.StatusBillable, Program: rules.ProgramCCM,
		Pathway: rules.PathwayClinicalStaff, CountedMinutes: minutes,
		Lines: []rules.Line{{Code: "99490", Units: 1, DateOfService: month + "-28", PractitionerNPI: "1111111111",
			Diagnoses: []string{"I10"}, Evidence: []string{"ev-1"}}},
		Reasons: []rules.Reason{}, Flags: []rules.Flag{}, Excluded: []rules.Excluded{},
		RuleSetVersion: rules.RuleSetVersion,
	}
}

func patientMonth(patientID, month string, v int, asOf uint64) readmodel.PatientMonth {
	return readmodel.PatientMonth{PatientID: patientID, Month: month, Evaluation: evaluation(patientID, month, v), AsOfSequence: asOf}
}

// billedPatientMonth is a month in a closed batch: status billed, the
// evaluation as billed kept apart.
func billedPatientMonth(patientID, month, batchID string, asOf uint64) readmodel.PatientMonth {
	ev := evaluation(patientID, month, 7)
	ev.Status = rules.StatusBilled
	ev.Flags = append(ev.Flags, rules.Flag{Code: rules.FlagPostCloseChange, Message: "lines changed after the batch closed"})
	billed := billable(patientID, month, 31)
	return readmodel.PatientMonth{PatientID: patientID, Month: month, Evaluation: ev, AsOfSequence: asOf, BatchID: batchID, BilledEvaluation: &billed}
}

func minuteTotal(patientID, month, program, role string, minutes int) readmodel.MinuteTotal {
	return readmodel.MinuteTotal{PatientID: patientID, Month: month, Program: program, Role: role, Minutes: minutes, Counted: minutes - minutes/4}
}

func batch(id, month string, logSeq uint64) readmodel.Batch {
	return readmodel.Batch{
		ID: id, Month: month, ClosedAt: instant(31, 23, 999_999_999), LogSequence: logSeq,
		ContentHash: "sha256:" + id,
		Lines: []readmodel.BatchLine{
			{PatientID: "p-1", Code: "99490", Units: 1, DateOfService: month + "-31", PractitionerNPI: "1111111111",
				Diagnoses: []string{"I50.22", "E11.65"}, Evidence: []string{"ev-consent", "ev-plan", "ev-te-1"}},
			{PatientID: "p-2", Code: "99487", Units: 1, DateOfService: month + "-30", PractitionerNPI: "2222222222",
				Diagnoses: []string{"N18.31"}, Evidence: []string{"ev-consent-2"}},
		},
		Totals:  readmodel.BatchTotals{Patients: 2, Lines: 2, Units: map[string]int{"99490": 1, "99487": 1}, ExpectedRevenueCent: 6212 + 13104},
		EventID: "ev-" + id, Sequence: logSeq + 1,
	}
}

// patient is a funnel row with every instant set; the odd ones have nil
// pointers and a zero EnrolledAt.
func patient(id string, v int) readmodel.Patient {
	p := readmodel.Patient{
		PatientID: id, EnrolledAt: instant(1, 9, 123_456_789+v), BillingPractitionerNPI: "1111111111",
		QualifyingConditions: 2 + v%3, ConsentStatus: "granted",
		ConsentedAt: timep(instant(2, 10, 1)), CarePlanAt: timep(instant(3, 11, 999)),
		CopyProvidedAt: timep(instant(3, 12, 1_000)), FirstBilledMonth: "2025-03",
	}
	if v%2 == 1 {
		p = readmodel.Patient{PatientID: id, BillingPractitionerNPI: "2222222222", ConsentStatus: "revoked",
			ConsentedAt: timep(instant(2, 10, 0)), DeclinedAt: timep(instant(4, 0, 500)), RevokedAt: timep(instant(5, 1, 999_999)),
			DeceasedDate: "2025-03-20"}
	}
	return p
}
