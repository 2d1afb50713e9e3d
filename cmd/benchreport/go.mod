module github.com/carelog/carelog/cmd/benchreport

go 1.26.0
