// Package facts folds the event log into what the billing rules engine
// reads: the practice stream into a Practice (time zone, §8 policy, billing
// NPI, practitioners) and each patient stream into a Patient (enrolment,
// death, conditions, consents, care plans and their copies, complexity,
// encounters, external claims, time entries with corrections applied), and
// turns a Patient into the rules.Facts of one patient-month
// (services/billing/rules: "input = a patient-month's facts").
//
// The package is pure: no I/O, no clock. Every fact keeps the id of the event
// that recorded it (claim-line evidence) and its log sequence, so a month
// can also be evaluated as the log stood at an earlier sequence
// (FactsThrough) — what a claim batch computed at its logSequence saw.
//
// Contracts:
//   - Apply never fails and never validates (STYLE.md rule 9): an event of a
//     type billing does not read, or one whose payload cannot be decoded, is
//     ignored and reported as such. Events are applied in log order.
//   - Time entries: a correction replaces the entry whole (the latest
//     version counts; its EventID is the correction's, CorrectedFrom the
//     version it replaced, RecordedAt stays the original recording time so
//     late_entry measures when the work was first recorded); a void keeps the
//     entry with Voided set, so the engine reports its minutes as `voided`.
//     A void is final: a later correction does not revive the entry.
//   - Care plans are folded with services/careplan/plan, the one place that
//     decides which required elements a plan lacks (CarePlan.MissingElements).
//   - Facts returns slices that the fold never modifies afterwards (fresh
//     copies, or prefixes of lists capped at their length, which later
//     events only append to or replace whole), so the caller may keep or
//     evaluate them while the Patient goes on folding; the engine only
//     reads them. A Patient is not safe for concurrent use: the caller
//     serializes Apply against readers (readers may run together).
//
// A projection keeps the fold of every patient of the log in memory, where
// the garbage collector marks all of it on every cycle, so a Patient keeps
// its facts compactly: time entries packed (entry: their strings in one
// allocation, the contract's fixed strings as one-byte codes), care plans as
// the rules read them with their elements packed for later revisions
// (carePlan), values that many facts repeat (NPIs, codes, descriptions,
// disclosures) shared, and what few patients have behind one pointer
// (more).
package facts
