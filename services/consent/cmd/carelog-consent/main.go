// Command carelog-consent runs the consent service alone against an external NATS
// server (--nats-url); the all-in-one binary is cmd/carelog.
package main

import (
	"os"
	"time"

	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/consent"
)

func main() {
	os.Exit(servicehost.Main("consent", os.Args[1:], os.Stderr, os.Getenv, func(d servicehost.Deps) (servicehost.Service, error) {
		return consent.New(consent.Config{}, consent.Deps{Log: d.Log, Logger: d.Logger, Spec: d.Spec, Now: time.Now})
	}))
}
