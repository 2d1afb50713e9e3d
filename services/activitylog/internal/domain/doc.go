// Package domain is the activity-log service's pure core (docs/services.md,
// "Domain"): the evidence rules a time entry must meet before it is stored
// (ccm-rules.md §6.1: who, when, what, for which program), the rules of
// encounters and external claims, the state of a patient stream as far as
// this service needs it, its Evolve fold, and the decide functions.
//
// Each command is checked in two steps, both pure (the clock and ids are
// inputs):
//
//   - Rules.Entry, Rules.Encounter and Rules.ExternalClaim validate the
//     request alone (formats, enumerations, the clock, the content of the
//     notes) and return the event payload. They name the offending field
//     with errs.Field and never put a submitted value (which may be patient
//     data) in a message.
//   - Decide<Command> validates that payload against the patient stream's
//     state: errs.NotFound for a patient that is not enrolled or an entry
//     that does not exist, errs.Conflict for a state conflict (a correction
//     of a voided entry), errs.Invalid naming the field for a value the state
//     makes wrong (an encounterId that names no recorded encounter). A decide
//     function never changes the payload (pkg/command).
//
// Evolve never fails and never validates (STYLE.md rule 9). It returns new
// states without mutating maps an earlier state shares (time entries are kept
// in copy-on-write shards, so recording one costs a copy of one shard, not of
// the patient's whole history), so a state handed out by pkg/command stays as
// it was while the stream advances.
package domain
