// Package rules is Carelog's Medicare care-management billing rules engine:
// pure Go, standard library only, no I/O, no clock, no randomness.
//
// Evaluate takes one patient-month's Facts (conditions, consents, care plans
// and their copies, complexity decisions, encounters, external claims, time
// entries with corrections applied, the billing location's time zone and the
// practice Policy) and returns an Evaluation: status (billable, hold,
// not_billable, billed), program (ccm or pcm) and pathway, counted minutes,
// claim lines (code, units, date of service, practitioner, diagnoses,
// evidence event ids), the reasons a month is not billable or on hold, review
// flags, and every excluded minute with its code. Codes come from
// shared/domain/reason-codes.md; rules are cited by their ids in
// shared/domain/ccm-rules.md (§1.2, X1–X12, T1–T12, K1–K7, I1–I4, CP1–CP3,
// A1–A15).
//
// Contracts:
//   - Deterministic: the same Facts give an identical Evaluation; slices are
//     sorted (entries by start, id, recording time, event id) and never nil.
//     The order in which time entries are passed does not matter.
//   - Rules are data where they can be: CodeTable is effective-dated by
//     service month (G2058 in 2020, 99439 from 2021, 99437 and 99424–99427
//     from 2022, APCM from 2025), claimRules holds the same-month exclusions,
//     and Policy holds every §8 ambiguity with its documented default (the
//     zero Policy is the default policy).
//   - Minutes are whole minutes: an entry's start is truncated to its minute
//     and it lasts its minutes of elapsed time, so DST changes never add or
//     remove work. Calendar months and days are those of Facts.Location.
//   - Fees are not here: a line carries code and units; amounts are loaded
//     per year and locality elsewhere (A14).
//
// RuleSetVersion names this rule set; evaluations carry it so a claim batch
// can say which rules produced it.
package rules
