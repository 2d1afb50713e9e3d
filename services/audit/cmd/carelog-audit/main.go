// Command carelog-audit runs the audit service alone against an external NATS
// server (--nats-url); the all-in-one binary is cmd/carelog.
package main

import (
	"os"
	"time"

	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/audit"
)

func main() {
	os.Exit(servicehost.Main("audit", os.Args[1:], os.Stderr, os.Getenv, func(d servicehost.Deps) (servicehost.Service, error) {
		return audit.New(audit.Config{}, audit.Deps{Log: d.Log, Logger: d.Logger, Spec: d.Spec, Now: time.Now, Access: d.Access})
	}))
}
