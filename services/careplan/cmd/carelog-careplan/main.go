// Command carelog-careplan runs the careplan service alone against an external NATS
// server (--nats-url); the all-in-one binary is cmd/carelog.
package main

import (
	"os"
	"time"

	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/careplan"
)

func main() {
	os.Exit(servicehost.Main("careplan", os.Args[1:], os.Stderr, os.Getenv, func(d servicehost.Deps) (servicehost.Service, error) {
		return careplan.New(careplan.Config{}, careplan.Deps{Log: d.Log, Logger: d.Logger, Spec: d.Spec, Now: time.Now})
	}))
}
