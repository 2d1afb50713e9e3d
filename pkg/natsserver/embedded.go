// Package natsserver runs the embedded NATS JetStream node that backs the
// all-in-one Carelog binary and the tests.
//
// Contracts:
//   - The node syncs every JetStream write to disk before acknowledging it
//     (SyncAlways), so an acknowledged event survives kill -9 of the process
//     (ARCHITECTURE.md decision 1; JetStream's default 2-minute sync lost
//     acknowledged writes in Jepsen's 2.12.1 analysis).
//   - One process at a time owns a data directory: Start takes an exclusive
//     lock on DataDir/carelog.lock and fails fast when another process holds it.
//   - Without Listen the node accepts in-process connections only. With Listen,
//     network clients must present a token accepted by Config.Authenticate.
package natsserver

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Permissions decide what an authenticated network client may publish and
// subscribe to. Nil fields allow everything.
type Permissions = server.Permissions

// Authenticator validates a client's token and returns its identity and
// permissions. It must be safe for concurrent use.
type Authenticator func(token string) (name string, perms *Permissions, ok bool)

// Config configures the embedded node.
type Config struct {
	// DataDir holds the JetStream store. Required.
	DataDir string
	// Listen is host:port for network clients; "" accepts in-process
	// connections only. Port 0 or -1 picks a free port.
	Listen string
	// Authenticate checks network clients' tokens. Required when Listen is set.
	Authenticate Authenticator
	// ServerName names the node (default "carelog").
	ServerName string
	// Logs enables the NATS server's own log lines on stderr.
	Logs bool
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("natsserver: DataDir is required"))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("natsserver: Listen %q: %w", c.Listen, err))
		}
		if c.Authenticate == nil {
			errs = append(errs, errors.New("natsserver: Listen requires Authenticate: the embedded node is never exposed without authentication"))
		}
	}
	return errors.Join(errs...)
}

// ErrLocked is returned by Start when another process owns the data directory.
var ErrLocked = errors.New("data directory is in use by another carelog process")

// Server is a running embedded node.
type Server struct {
	ns       *server.Server
	lock     *os.File
	internal string // token of in-process connections
}

// Start starts the node and waits until it accepts connections.
func Start(cfg Config) (*Server, error) {
	if cfg.ServerName == "" {
		cfg.ServerName = "carelog"
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("natsserver.Start: %w", err)
	}
	lock, err := lockDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		lock.Close()
		return nil, err
	}
	s := &Server{lock: lock, internal: hex.EncodeToString(secret)}

	opts := &server.Options{
		ServerName:         cfg.ServerName,
		JetStream:          true,
		StoreDir:           filepath.Join(cfg.DataDir, "jetstream"),
		SyncAlways:         true,
		DontListen:         cfg.Listen == "",
		NoSigs:             true,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: 256 << 20,
	}
	if cfg.Listen != "" {
		host, port, _ := net.SplitHostPort(cfg.Listen)
		opts.Host = host
		opts.Port, err = strconv.Atoi(port)
		if err != nil {
			lock.Close()
			return nil, fmt.Errorf("natsserver: Listen port %q: %w", port, err)
		}
		if opts.Port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	opts.CustomClientAuthentication = &authenticator{internal: s.internal, check: cfg.Authenticate}

	ns, err := server.NewServer(opts)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("natsserver.Start: %w", err)
	}
	if cfg.Logs {
		ns.ConfigureLogger()
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		lock.Close()
		return nil, errors.New("natsserver.Start: server not ready within 30s")
	}
	s.ns = ns
	return s, nil
}

// Connect opens an in-process client connection with full permissions.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{
		nats.InProcessServer(s.ns),
		nats.Token(s.internal),
		nats.Name("carelog-internal"),
		nats.MaxReconnects(-1),
	}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("natsserver.Connect: %w", err)
	}
	return nc, nil
}

// ClientURL is the URL network clients use, or "" without a listener.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// Shutdown stops the node, waits for it to finish and releases the data
// directory. Safe to call more than once.
func (s *Server) Shutdown() {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// authenticator accepts the internal token for in-process connections and
// delegates every other client to the configured Authenticator.
type authenticator struct {
	internal string
	check    Authenticator
}

func (a *authenticator) Check(c server.ClientAuthentication) bool {
	tok := c.GetOpts().Token
	if subtle.ConstantTimeCompare([]byte(tok), []byte(a.internal)) == 1 {
		c.RegisterUser(&server.User{Username: "carelog-internal"})
		return true
	}
	if a.check == nil || tok == "" {
		return false
	}
	name, perms, ok := a.check(tok)
	if !ok {
		return false
	}
	c.RegisterUser(&server.User{Username: name, Permissions: perms})
	return true
}

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "carelog.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("natsserver: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("natsserver: %s: %w", dir, ErrLocked)
	}
	return f, nil
}
