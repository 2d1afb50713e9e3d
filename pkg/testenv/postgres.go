// Package testenv starts real dependencies (embedded NATS JetStream, PostgreSQL) for tests and benchmarks.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// databaseEnv names an existing server to use instead of starting one: a
// postgres:// URL whose user may CREATE DATABASE (PostgreSQL 13 or newer, for
// DROP DATABASE ... WITH (FORCE)).
const databaseEnv = "CARELOG_TEST_DATABASE"

const (
	// pgPort is passed explicitly so that a PGPORT in the environment changes
	// neither the server's socket name nor the port clients look for.
	pgPort = 5432
	// readyTimeout bounds each wait for the server (pg_ctl -w, then SELECT 1).
	readyTimeout = 30 * time.Second
	// commandTimeout bounds each initdb or pg_ctl run.
	commandTimeout = 2 * time.Minute
	// maxSocketDirLen keeps <dir>/.s.PGSQL.5432 inside sun_path (108 bytes).
	maxSocketDirLen = 90
)

// Postgres is a PostgreSQL server for one test package: either a throwaway
// cluster started by StartPostgres, or the existing server named by
// CARELOG_TEST_DATABASE. Tests take a fresh database each with NewDatabase.
//
// Start it once in TestMain and stop it after the tests:
//
//	var pg *testenv.Postgres
//
//	func TestMain(m *testing.M) {
//		var err error
//		pg, err = testenv.StartPostgres()
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		if err := pg.Stop(); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			code = max(code, 1)
//		}
//		os.Exit(code)
//	}
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		pool, err := pgxpool.New(t.Context(), pg.NewDatabase(t))
//		...
//	}
//
// Its methods are safe for concurrent use.
type Postgres struct {
	url string // admin URL

	// The rest is set only for a cluster started by StartPostgres.

	dir   string   // temp dir: data/, server.log and the unix socket
	pgCtl []string // argv that runs pg_ctl, through runuser when root
	// watchdog stops the cluster and removes dir once lifeline, the write
	// end of its stdin, closes: when this process dies without calling Stop
	// (a panic, a test timeout, SIGKILL). Stop kills it first.
	watchdog *exec.Cmd
	lifeline *os.File

	mu      sync.Mutex
	stopped bool
	stopErr error
}

// StartPostgres returns the server for this test package. When
// CARELOG_TEST_DATABASE is set it checks that the server answers and starts
// nothing. Otherwise it starts a throwaway cluster listening only on a unix
// socket in a new temp dir, using the server binaries in the directory that
// `pg_config --bindir` names, else the newest /usr/lib/postgresql/<version>/bin,
// else the one holding the initdb on $PATH. As root (initdb and postgres
// refuse to run as root) it runs initdb and pg_ctl as the "postgres" system
// user via runuser and gives that user the temp dir.
//
// The caller must call Stop. If the process dies first, a watchdog child
// stops the cluster and removes the temp dir.
func StartPostgres() (*Postgres, error) {
	if rawURL := os.Getenv(databaseEnv); rawURL != "" {
		return useExisting(rawURL)
	}
	return startCluster()
}

// URL returns the admin connection URL: a user that may CREATE DATABASE,
// connected to the "postgres" database (or, with CARELOG_TEST_DATABASE, the
// URL given there).
func (p *Postgres) URL() string { return p.url }

// NewDatabase creates an empty database with a unique name and returns its
// connection URL, e.g.
// postgres://postgres@/carelog_test_x?host=/tmp/clpg123&port=5432&sslmode=disable.
// A t.Cleanup drops it, closing any connections still open to it. Call it from
// the test's goroutine; parallel tests may call it concurrently.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped {
		t.Fatal("testenv: Postgres.NewDatabase called after Stop")
	}

	name, err := databaseName(t.Name())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	dbURL, err := withDatabase(p.url, name)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ident := pgx.Identifier{name}.Sanitize()

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := p.exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		gone := p.stopped && p.dir != ""
		p.mu.Unlock()
		if gone {
			return // our cluster, and the database with it, no longer exists
		}
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		if err := p.exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	return dbURL
}

// Stop stops a cluster started by StartPostgres (pg_ctl stop -m immediate)
// and removes its temp dir; for a CARELOG_TEST_DATABASE server it does
// nothing. Later calls do nothing and return the first call's result.
func (p *Postgres) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.stopped = true
		p.stopErr = p.stop()
	}
	return p.stopErr
}

func useExisting(rawURL string) (*Postgres, error) {
	if !strings.HasPrefix(rawURL, "postgres://") && !strings.HasPrefix(rawURL, "postgresql://") {
		return nil, fmt.Errorf("testenv: %s must be a postgres:// URL", databaseEnv)
	}
	if _, err := pgx.ParseConfig(rawURL); err != nil {
		return nil, fmt.Errorf("testenv: %s: %w", databaseEnv, err)
	}
	if err := waitReady(rawURL); err != nil {
		return nil, fmt.Errorf("testenv: %s: %w", databaseEnv, err)
	}
	return &Postgres{url: rawURL}, nil
}

func startCluster() (_ *Postgres, err error) {
	bindir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	// asUser prefixes the server commands: empty when they can run as us.
	var asUser []string
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("testenv: running as root, and initdb and postgres refuse to run as root, so they run as the \"postgres\" system user, which is missing (%v); install the postgresql package, run as a non-root user, or set %s", err, databaseEnv)
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return nil, fmt.Errorf("testenv: user postgres: uid %q: %w", u.Uid, err)
		}
		if gid, err = strconv.Atoi(u.Gid); err != nil {
			return nil, fmt.Errorf("testenv: user postgres: gid %q: %w", u.Gid, err)
		}
		runuser, err := lookPath("runuser", "/usr/sbin/runuser", "/sbin/runuser")
		if err != nil {
			return nil, fmt.Errorf("testenv: running as root needs runuser (util-linux) to run initdb and pg_ctl as user postgres: %w", err)
		}
		asUser = []string{runuser, "-u", "postgres", "--"}
	}

	// The temp dir also holds the unix socket, whose path must fit in
	// sun_path: keep it short.
	base := os.TempDir()
	if len(base)+len("/clpg0123456789") > maxSocketDirLen {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "clpg")
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	p := &Postgres{
		dir:   dir,
		pgCtl: append(slices.Clone(asUser), filepath.Join(bindir, "pg_ctl")),
		url:   socketURL(dir, "postgres"),
	}
	defer func() {
		if err != nil {
			_ = p.stop()
		}
	}()
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("testenv: give %s to user postgres: %w", dir, err)
		}
	}
	if err := p.startWatchdog(); err != nil {
		return nil, err
	}

	data := filepath.Join(dir, "data")
	initdb := append(slices.Clone(asUser), filepath.Join(bindir, "initdb"),
		"-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	if err := run(dir, initdb); err != nil {
		if uid >= 0 {
			err = fmt.Errorf("%w (user postgres must be able to reach %s)", err, dir)
		}
		return nil, err
	}

	// Durability is off (fsync, synchronous_commit, full_page_writes): this
	// cluster is thrown away after the tests, so losing it in a crash costs
	// nothing and the tests run much faster. Never use these settings on a
	// server whose data matters. No TCP: listen_addresses is empty.
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
		shellQuote(dir), pgPort)
	logFile := filepath.Join(dir, "server.log")
	start := append(slices.Clone(p.pgCtl), "-w", "-t", strconv.Itoa(int(readyTimeout/time.Second)),
		"-D", data, "-l", logFile, "-o", opts, "start")
	if err := run(dir, start); err != nil {
		return nil, fmt.Errorf("%w\nserver log tail:\n%s", err, logTail(logFile))
	}
	if err := waitReady(p.url); err != nil {
		return nil, fmt.Errorf("testenv: PostgreSQL in %s: %w\nserver log tail:\n%s", dir, err, logTail(logFile))
	}
	return p, nil
}

// watchdogScript waits for EOF on stdin, which comes when the test process
// exits however it exits, then stops the cluster and removes the temp dir.
// It ignores the terminal's signals so that Ctrl-C reaches only the test
// process and the cleanup still runs. $1 is the temp dir, $2 rm, the rest
// runs pg_ctl; all absolute, as $PATH may lack them.
const watchdogScript = `trap '' HUP INT QUIT TERM
dir=$1 rm=$2; shift 2
while read -r _; do :; done
if [ -f "$dir/data/postmaster.pid" ]; then "$@" -D "$dir/data" -m immediate stop; fi
"$rm" -rf "$dir"`

func (p *Postgres) startWatchdog() error {
	rm, err := lookPath("rm", "/bin/rm", "/usr/bin/rm")
	if err != nil {
		return fmt.Errorf("testenv: watchdog: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("testenv: watchdog pipe: %w", err)
	}
	defer r.Close()
	args := append([]string{"-c", watchdogScript, "testenv-postgres-watchdog", p.dir, rm}, p.pgCtl...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("testenv: start watchdog: %w", err)
	}
	p.watchdog, p.lifeline = cmd, w
	return nil
}

// stop tears down whatever part of a local cluster exists; p.mu is held or
// p is not yet shared.
func (p *Postgres) stop() error {
	if p.dir == "" {
		return nil
	}
	var errs []error
	if p.watchdog != nil {
		// Kill it rather than close lifeline, so that the stop below is the
		// only one and reports its errors.
		_ = p.watchdog.Process.Kill()
		_ = p.watchdog.Wait()
		p.lifeline.Close()
		p.watchdog, p.lifeline = nil, nil
	}
	data := filepath.Join(p.dir, "data")
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
		if err := run(p.dir, append(slices.Clone(p.pgCtl), "-D", data, "-m", "immediate", "stop")); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(p.dir); err != nil {
		errs = append(errs, fmt.Errorf("testenv: %w", err))
	}
	return errors.Join(errs...)
}

// exec runs one statement on a new admin connection.
func (p *Postgres) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, p.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// run runs argv in dir, returning its output in the error if it fails.
func run(dir string, argv []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir // as user postgres, the caller's working dir may be unreadable
	// Should a daemon keep the output pipe open, give up on it.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testenv: %s: %w\n%s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// waitReady polls rawURL with SELECT 1 until it answers or readyTimeout passes.
func waitReady(rawURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ping(ctx, rawURL)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer to SELECT 1 within %v: %w", readyTimeout, err)
		case <-tick.C:
		}
	}
}

func ping(ctx context.Context, rawURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// findBinDir returns the directory holding initdb and pg_ctl.
func findBinDir() (string, error) {
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, pgConfig, "--bindir").Output()
		cancel()
		// On Debian, pg_config may come from libpq-dev and name a bindir
		// without the server.
		if dir := strings.TrimSpace(string(out)); err == nil && hasServerBinaries(dir) {
			return dir, nil
		}
	}
	if dir := newestDebianBinDir(); dir != "" {
		return dir, nil
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		// Follow a symlink such as /usr/local/bin/initdb to the real bindir.
		if real, err := filepath.EvalSymlinks(initdb); err == nil {
			initdb = real
		}
		if dir := filepath.Dir(initdb); hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("testenv: no PostgreSQL server binaries (initdb and pg_ctl) found: looked in `pg_config --bindir`, /usr/lib/postgresql/*/bin and for initdb on $PATH; install the postgresql package or set %s", databaseEnv)
}

// newestDebianBinDir returns /usr/lib/postgresql/<version>/bin for the
// highest version that has the server binaries, or "".
func newestDebianBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var best string
	var bestVersion []int
	for _, dir := range dirs {
		v, ok := parseVersion(filepath.Base(filepath.Dir(dir)))
		if !ok || !hasServerBinaries(dir) {
			continue
		}
		if best == "" || slices.Compare(v, bestVersion) > 0 {
			best, bestVersion = dir, v
		}
	}
	return best
}

// parseVersion parses "15" or "9.6" into its numeric components.
func parseVersion(s string) ([]int, bool) {
	var v []int
	for part := range strings.SplitSeq(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		v = append(v, n)
	}
	return v, true
}

// lookPath finds name on $PATH or, as root's PATH may lack sbin, at one of
// the fallback paths.
func lookPath(name string, fallbacks ...string) (string, error) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	for _, f := range fallbacks {
		if isExecutable(f) {
			return f, nil
		}
	}
	return "", err
}

func hasServerBinaries(dir string) bool {
	return dir != "" && isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl"))
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// socketURL is the URL of database db on the cluster whose socket is in dir.
func socketURL(dir, db string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, queryEscape(dir), pgPort)
}

// queryEscape escapes a URL query value the way libpq decodes it: %XX only,
// no '+' for space. Slashes stay readable.
func queryEscape(s string) string {
	// QueryEscape writes a '+' as %2B, so the '+' it leaves are spaces.
	e := strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
	return strings.ReplaceAll(e, "%2F", "/")
}

// withDatabase returns rawURL, a postgres:// URL, naming database db instead.
func withDatabase(rawURL, db string) (string, error) {
	scheme := ""
	for _, s := range []string{"postgres://", "postgresql://"} {
		if strings.HasPrefix(rawURL, s) {
			scheme = s
		}
	}
	if scheme == "" {
		return "", fmt.Errorf("not a postgres:// URL: %q", rawURL)
	}
	rest := rawURL[len(scheme):]
	// Like libpq, an '@' before the first '/' ends the userinfo.
	hostStart := 0
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		hostStart = i + 1
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest[hostStart:], "/?"); i >= 0 {
		authority, tail = rest[:hostStart+i], rest[hostStart+i:]
	}
	query := ""
	if i := strings.IndexByte(tail, '?'); i >= 0 {
		query = tail[i:]
	}
	return scheme + authority + "/" + db + query, nil
}

// databaseName returns a unique database name that hints at the test using
// it: carelog_test_<test name>_<random>, within PostgreSQL's 63 bytes.
func databaseName(testName string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	var hint strings.Builder
	for _, r := range strings.ToLower(testName) {
		if hint.Len() == 24 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			hint.WriteRune(r)
		} else {
			hint.WriteByte('_')
		}
	}
	return "carelog_test_" + hint.String() + "_" + hex.EncodeToString(b[:]), nil
}

// logTail returns the last lines of the server log.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// shellQuote quotes s for sh, which pg_ctl hands the -o options to.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
