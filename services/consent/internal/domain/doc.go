// Package domain is the consent service's pure core (docs/services.md,
// "Domain"): the state of the practice stream (configuration and
// practitioners) and of a patient stream (enrolment, conditions, consents),
// their Evolve folds, and the rules of every command.
//
// Each command is checked in two steps, both pure (time and ids are inputs):
//
//   - <Input>.Event validates the request alone (formats, enumerations, the
//     clock) and returns the event payload. It names the offending field with
//     errs.Field and never puts a submitted value (patient data) in a message.
//   - Decide<Command> validates that payload against the stream state (and,
//     for patient commands that name a practitioner, the practice state):
//     errs.NotFound for a missing patient or consent, errs.Conflict for a
//     state conflict, errs.Invalid naming the field for a value the state
//     makes wrong (a revocation before its consent). It never changes the
//     payload (pkg/command).
//
// Evolve functions never fail and never validate (STYLE.md rule 9), and
// return new states without mutating maps an earlier state shares, so a state
// handed out by pkg/command stays as it was while the stream advances.
package domain
