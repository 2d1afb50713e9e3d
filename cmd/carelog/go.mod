module github.com/carelog/carelog/cmd/carelog

go 1.26.0

require (
	github.com/carelog/carelog/events v0.0.0
	github.com/carelog/carelog/pkg v0.0.0
	github.com/carelog/carelog/services/activitylog v0.0.0
	github.com/carelog/carelog/services/audit v0.0.0
	github.com/carelog/carelog/services/billing v0.0.0
	github.com/carelog/carelog/services/careplan v0.0.0
	github.com/carelog/carelog/services/consent v0.0.0
)

replace (
	github.com/carelog/carelog/events => ../../events
	github.com/carelog/carelog/pkg => ../../pkg
	github.com/carelog/carelog/services/activitylog => ../../services/activitylog
	github.com/carelog/carelog/services/audit => ../../services/audit
	github.com/carelog/carelog/services/billing => ../../services/billing
	github.com/carelog/carelog/services/careplan => ../../services/careplan
	github.com/carelog/carelog/services/consent => ../../services/consent
)
