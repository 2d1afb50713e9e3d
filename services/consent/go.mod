module github.com/carelog/carelog/services/consent

go 1.26.0

require (
	github.com/carelog/carelog/events v0.0.0
	github.com/carelog/carelog/pkg v0.0.0
)

replace (
	github.com/carelog/carelog/events => ../../events
	github.com/carelog/carelog/pkg => ../../pkg
)
