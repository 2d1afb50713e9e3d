module github.com/carelog/carelog/services/consent

go 1.26.0

require (
	github.com/carelog/carelog/events v0.0.0
	github.com/carelog/carelog/pkg v0.0.0
	github.com/carelog/carelog/services/billing v0.0.0
	github.com/carelog/carelog/services/careplan v0.0.0
	github.com/labstack/echo/v4 v4.16.4
)

require (
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/carelog/carelog/events => ../../events
	github.com/carelog/carelog/pkg => ../../pkg
	github.com/carelog/carelog/services/billing => ../billing
	github.com/carelog/carelog/services/careplan => ../careplan
)
