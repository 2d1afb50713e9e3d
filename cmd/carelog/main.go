// Command carelog is the all-in-one Carelog binary: `carelog serve` runs
// every service on one listener with an embedded NATS JetStream node; other
// subcommands administer it.
package main

import (
	"os"

	"github.com/carelog/carelog/cmd/carelog/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}
