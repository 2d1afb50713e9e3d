// Package pkg is the root of Carelog's shared infrastructure module: the event
// log port and its adapters, the embedded NATS server, authentication, the
// HTTP error vocabulary and the real-dependency test harness. It holds no care
// or billing rules.
package pkg
