// Package auth authenticates Carelog's callers with bearer tokens that carry
// a role (api/contract.md, Conventions and Administration; ARCHITECTURE.md
// decision 8: every request is authenticated and roles limit what it may do).
//
// Contracts:
//   - A token reads clg_<id>_<secret>. The id is public (it names the token in
//     lists and logs); the secret is shown once, by Create, and stored only as
//     its SHA-256, which Authenticate compares in constant time. Neither the
//     secret nor its hash leaves the package: List, the HTTP API and the logs
//     never show them.
//   - Store keeps the token records in the JetStream KV bucket carelog_tokens
//     and serves Authenticate from an in-memory index that a KV watcher keeps
//     current, so a revocation made by any process takes effect in every
//     process as soon as the watcher delivers it (and at once in the process
//     that made it). Revocation keeps the record (with revokedAt) for the list.
//   - Last use is tracked in memory and written to KV lazily: at most once a
//     minute per token, by one background writer with a bounded queue, so a
//     request never waits for, or fails because of, that write.
//   - A static admin token (CARELOG_ADMIN_TOKEN, passed in by main through
//     WithStaticAdmin; this package never reads the environment) is held only
//     as a hash in memory and is never listed.
//   - Middleware authenticates every request it wraps (401, errs.Unauthorized,
//     WWW-Authenticate: Bearer); Require limits a route to roles (403,
//     errs.Forbidden), admin always passing.
//   - NATSAuthenticator lets clinical apps present the same tokens to NATS:
//     admin gets every subject; other roles may only publish commands
//     (carelog.cmd.>) and receive their replies (_INBOX.>).
package auth
