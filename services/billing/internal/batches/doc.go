// Package batches closes service months into claim batches, serves them over
// HTTP and exports them as CSV, FHIR R4 and X12 837P (api/contract.md,
// Billing; ARCHITECTURE.md decision 5).
//
// The package has three layers:
//
//   - a pure core (content.go): Compute selects every billable patient-month
//     that is in no batch yet and builds the batch Content; CanonicalJSON and
//     Hash turn Content into the bytes and the content hash that the
//     claim_batch.closed event records. No I/O, no clock.
//   - the close command (closer.go): Closer waits for the billing projection,
//     takes a consistent snapshot of the month with the log position it
//     reflects, computes, appends claim_batch.closed to the month's batch
//     stream guarded by the stream's revision, recomputes on a concurrent
//     close, and waits until the projection has applied the new event.
//   - adapters: exports (csv.go, fhir.go, x12.go) and the echo routes
//     (http.go).
//
// # Reproducibility
//
// A batch is a pure function of the billing read model's patient-month rows
// of its month at log position LogSequence: Compute(month, rows,
// logSequence). Replaying the log up to LogSequence into fresh projections
// and calling Compute again must give the same ContentHash (the audit
// service's verification, issue 6). The hash therefore covers only what a
// replay can reproduce: the month, LogSequence, the lines and the totals
// derived from them. The batch id, closedAt, the event id and the expected
// revenue are metadata outside the hash: the id depends on how many batches
// the month already had (known to the replay, but a naming choice, not
// content), closedAt is the wall clock, which no replay can know, and fees
// change by year and locality (ccm-rules §8 A14), so a corrected fee schedule
// must not make an old batch unverifiable.
//
// # Canonical serialization (format "carelog.claim-batch/1")
//
// The hashed bytes are the RFC 8785 JSON Canonicalization Scheme (JCS) form
// of this object, so anyone can recompute a hash with any JCS library:
//
//	{"format":"carelog.claim-batch/1",
//	 "lines":[{"code","dateOfService","diagnoses":[…],"evidence":[…],
//	           "patientId","practitionerNpi","units"}, …],
//	 "logSequence":N,
//	 "month":"YYYY-MM",
//	 "totals":{"lines","patients","units","unitsByCode":{code:units,…}}}
//
// In detail:
//
//   - Object members in JCS order (sorted by UTF-16 code units; every key
//     here is ASCII, so byte order): format, lines, logSequence, month,
//     totals; in a line code, dateOfService, diagnoses, evidence, patientId,
//     practitionerNpi, units; in totals lines, patients, units, unitsByCode
//     (its keys, the procedure codes, sorted the same way).
//   - No whitespace; strings escape only '"', '\\' and U+0000–U+001F (\b \t
//     \n \f \r, others \u00xx in lowercase hex), everything else is literal
//     UTF-8 ('<', '>', '&' and '/' are not escaped); integers in plain
//     decimal. Strings must be valid UTF-8 and integers at most 2^53−1.
//   - Lines are sorted by patientId, then base codes before add-on codes
//     (rules.CodeTable of the service month), then code. The order inside
//     diagnoses (principal first, it becomes the claim's ABK code) and
//     evidence (consent, care plan, copy, complexity, then each time entry,
//     as the rules engine orders them) carries meaning and is kept; absent
//     lists are written [].
//   - The object holds no instant, so no time zone enters the hash; dates
//     are the civil "YYYY-MM-DD" strings of the lines.
//
// The content hash is the lowercase hex SHA-256 of those bytes.
//
// # Closing rules
//
//   - Only status billable with no BatchID enters a batch: hold and
//     not_billable months wait for a person (reason-codes.md), and a
//     patient-month in a closed batch is billed and never enters another
//     (OIG's largest duplicate class, ccm-rules §6.2). A fact recorded after
//     the close changes the evaluation but not the batch; the projection
//     flags it post_close_change for review.
//   - A month with nothing left to bill is refused (409 conflict) rather than
//     closed into an empty batch, which would be noise in the batch stream.
//   - A future month is refused (400). The month still in progress is refused
//     (409) unless forced: ccm-rules §8 A8 assembles claims after the month
//     closes, since add-on lines must go on the same claim as their base.
//   - Batch ids are "batch-<month>-<n>", n counting the month's batches from 1.
package batches
