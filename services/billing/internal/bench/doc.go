// Package bench holds the billing read models' benchmarks, each a pair named
// .../impl=carelog and .../impl=raw that `make bench` prints as one ratio
// line (cmd/benchreport): the store beside the raw engine beneath it, in the
// same run. It has no code of its own; see bench_test.go.
package bench
