// Command carelog-activitylog runs the activitylog service alone against an external NATS
// server (--nats-url); the all-in-one binary is cmd/carelog.
package main

import (
	"os"
	"time"

	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/activitylog"
)

func main() {
	os.Exit(servicehost.Main("activitylog", os.Args[1:], os.Stderr, os.Getenv, func(d servicehost.Deps) (servicehost.Service, error) {
		return activitylog.New(activitylog.Config{}, activitylog.Deps{Log: d.Log, Logger: d.Logger, Spec: d.Spec, Now: time.Now})
	}))
}
