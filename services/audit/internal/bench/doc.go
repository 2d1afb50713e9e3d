// Package bench holds the audit service's benchmarks, each a pair named
// .../impl=carelog and .../impl=raw that `make bench` prints as one line
// (cmd/benchreport): the audit read beside the raw JetStream fetch beneath it,
// in the same run. It has no code of its own; see history_test.go.
package bench
