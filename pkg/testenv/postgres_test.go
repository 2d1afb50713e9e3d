package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pg serves every test in this package.
var pg *Postgres

// helperEnv makes the test binary act as TestPostgresKilledProcessCleansUp's
// child: start a cluster, report it, wait to be killed.
const helperEnv = "CARELOG_TESTENV_POSTGRES_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runKilledHelper())
	}
	var err error
	pg, err = StartPostgres()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := pg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = max(code, 1)
	}
	os.Exit(code)
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	var n int
	err := connect(t, pg.URL()).QueryRow(t.Context(),
		"SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n)
	if err != nil {
		t.Fatalf("query pg_database: %v", err)
	}
	return n == 1
}

func currentDatabase(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var name string
	if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatalf("current_database(): %v", err)
	}
	return name
}

func TestPostgresURLCanCreateDatabases(t *testing.T) {
	t.Parallel()
	var canCreate bool
	err := connect(t, pg.URL()).QueryRow(t.Context(),
		"SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&canCreate)
	if err != nil {
		t.Fatalf("query pg_roles: %v", err)
	}
	if !canCreate {
		t.Errorf("admin user may create databases: got false, want true")
	}
}

func TestPostgresNewDatabaseIsolated(t *testing.T) {
	t.Parallel()
	urlA, urlB := pg.NewDatabase(t), pg.NewDatabase(t)
	if urlA == urlB {
		t.Fatalf("two NewDatabase URLs: got both %q, want different", urlA)
	}
	a, b := connect(t, urlA), connect(t, urlB)
	if nameA, nameB := currentDatabase(t, a), currentDatabase(t, b); nameA == nameB {
		t.Fatalf("current_database(): got %q in both, want different", nameA)
	}

	ctx := t.Context()
	if _, err := a.Exec(ctx, "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)"); err != nil {
		t.Fatalf("create table in A: %v", err)
	}
	if _, err := a.Exec(ctx, "INSERT INTO notes VALUES (1, 'BP 128/82'), (2, 'HbA1c 6.9%')"); err != nil {
		t.Fatalf("insert in A: %v", err)
	}
	rows, err := a.Query(ctx, "SELECT body FROM notes ORDER BY id")
	if err != nil {
		t.Fatalf("select in A: %v", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if want := []string{"BP 128/82", "HbA1c 6.9%"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("notes in A: got %q (err %v), want %q", got, err, want)
	}

	var inB bool
	if err := b.QueryRow(ctx, "SELECT to_regclass('public.notes') IS NOT NULL").Scan(&inB); err != nil {
		t.Fatalf("look for notes in B: %v", err)
	}
	if inB {
		t.Errorf("table notes in B: got present, want absent")
	}
}

func TestPostgresDatabaseDroppedAfterCleanup(t *testing.T) {
	t.Parallel()
	var name string
	var open *pgx.Conn
	t.Run("use", func(t *testing.T) {
		url := pg.NewDatabase(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Left open on purpose: the drop must not wait for it.
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		open = conn
		if _, err := conn.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("create table: %v", err)
		}
		name = currentDatabase(t, conn)
		if !databaseExists(t, name) {
			t.Fatalf("database %s during the test: got absent, want present", name)
		}
	})
	if open != nil {
		defer open.Close(context.Background())
	}
	if name == "" {
		t.Fatal("subtest did not get a database")
	}
	if databaseExists(t, name) {
		t.Errorf("database %s after the test's cleanup: got present, want dropped", name)
	}
}

func TestPostgresNewDatabaseParallel(t *testing.T) {
	t.Parallel()
	const n = 12
	var mu sync.Mutex
	var names []string
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				conn := connect(t, pg.NewDatabase(t))
				ctx := t.Context()
				if _, err := conn.Exec(ctx, "CREATE TABLE kv (k int PRIMARY KEY, v int)"); err != nil {
					t.Fatalf("create table: %v", err)
				}
				if _, err := conn.Exec(ctx, "INSERT INTO kv VALUES (1, $1)", i); err != nil {
					t.Fatalf("insert: %v", err)
				}
				var got int
				if err := conn.QueryRow(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&got); err != nil {
					t.Fatalf("select: %v", err)
				}
				if got != i {
					t.Errorf("v: got %d, want %d", got, i)
				}
				name := currentDatabase(t, conn)
				mu.Lock()
				names = append(names, name)
				mu.Unlock()
			})
		}
	})
	slices.Sort(names)
	if got := len(slices.Compact(slices.Clone(names))); got != n {
		t.Fatalf("distinct databases: got %d (%q), want %d", got, names, n)
	}
	for _, name := range names {
		if databaseExists(t, name) {
			t.Errorf("database %s after its test: got present, want dropped", name)
		}
	}
}

// TestPostgresStop starts a second, local cluster even when
// CARELOG_TEST_DATABASE is set, since that is the code Stop has work in.
func TestPostgresStop(t *testing.T) {
	t.Setenv(databaseEnv, "")
	p, err := StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	conn := connect(t, p.NewDatabase(t))
	if _, err := conn.Exec(t.Context(), "SELECT 1"); err != nil {
		t.Fatalf("query before Stop: %v", err)
	}

	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(p.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temp dir %s after Stop: got stat error %v, want not exist", p.dir, err)
	}
	if err := ping(t.Context(), p.URL()); err == nil {
		t.Errorf("connect after Stop: got success, want error")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: got %v, want nil", err)
	}
}

// TestPostgresKilledProcessCleansUp kills (SIGKILL) a test process that has
// started a cluster and never calls Stop; the watchdog must stop the server
// and remove its temp dir.
func TestPostgresKilledProcessCleansUp(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", databaseEnv+"=")
	stdin, err := cmd.StdinPipe() // held open: the child waits for EOF
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	type report struct {
		dir, url string
		err      error
	}
	reports := make(chan report, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var lines []string
		for len(lines) < 2 && sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if len(lines) < 2 {
			reports <- report{err: fmt.Errorf("child exited early: %v", sc.Err())}
			return
		}
		reports <- report{dir: lines[0], url: lines[1]}
	}()
	var r report
	select {
	case r = <-reports:
	case <-time.After(2 * time.Minute):
		r.err = errors.New("child did not report a cluster within 2m")
	}
	if r.err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		waited = true
		t.Fatalf("%v; child stderr:\n%s", r.err, stderr.String())
	}
	// Should the watchdog fail, stop the cluster the way Stop would.
	t.Cleanup(func() {
		if _, err := os.Stat(r.dir); err == nil {
			orphan := &Postgres{dir: r.dir, pgCtl: pgCtlArgv(t)}
			_ = orphan.Stop()
		}
	})
	if err := ping(t.Context(), r.url); err != nil {
		t.Fatalf("child's cluster before the kill: %v", err)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waited = true

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, statErr := os.Stat(r.dir)
		pingErr := ping(ctx, r.url)
		if errors.Is(statErr, fs.ErrNotExist) && pingErr != nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("30s after SIGKILL: temp dir stat error %v (want not exist), connect error %v (want an error)", statErr, pingErr)
		case <-tick.C:
		}
	}
}

// runKilledHelper is the child of TestPostgresKilledProcessCleansUp.
func runKilledHelper() int {
	p, err := StartPostgres()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s\n%s\n", p.dir, p.URL())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent kills us
	fmt.Fprintln(os.Stderr, "stdin closed before the kill")
	return 1
}

// pgCtlArgv rebuilds what StartPostgres uses to run pg_ctl.
func pgCtlArgv(t *testing.T) []string {
	t.Helper()
	bindir, err := findBinDir()
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{filepath.Join(bindir, "pg_ctl")}
	if os.Geteuid() == 0 {
		runuser, err := lookPath("runuser", "/usr/sbin/runuser", "/sbin/runuser")
		if err != nil {
			t.Fatal(err)
		}
		argv = append([]string{runuser, "-u", "postgres", "--"}, argv...)
	}
	return argv
}

func TestPostgresHelpers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, db, want string }{
		{"postgres://u:p@h:5432/app?sslmode=disable", "x", "postgres://u:p@h:5432/x?sslmode=disable"},
		{"postgresql://h", "x", "postgresql://h/x"},
		{"postgres://u@h1:1,h2:2?sslmode=require", "x", "postgres://u@h1:1,h2:2/x?sslmode=require"},
		{"postgres://u:a%2Fb@/app?host=/tmp/s", "x", "postgres://u:a%2Fb@/x?host=/tmp/s"},
	} {
		got, err := withDatabase(c.in, c.db)
		if err != nil || got != c.want {
			t.Errorf("withDatabase(%q, %q): got %q, %v; want %q", c.in, c.db, got, err, c.want)
		}
	}
	if _, err := withDatabase("host=h dbname=app", "x"); err == nil {
		t.Errorf("withDatabase of a keyword/value string: got no error, want one")
	}

	// The socket URL must reach pgx's parser intact, odd characters included.
	dir := "/tmp/a b+c&d=e"
	cfg, err := pgx.ParseConfig(socketURL(dir, "db"))
	if err != nil {
		t.Fatalf("parse socket URL: %v", err)
	}
	if cfg.Host != dir || cfg.Port != pgPort || cfg.Database != "db" || cfg.User != "postgres" {
		t.Errorf("socket URL: got host %q port %d db %q user %q, want %q %d %q %q",
			cfg.Host, cfg.Port, cfg.Database, cfg.User, dir, pgPort, "db", "postgres")
	}

	for _, c := range []struct {
		a, b string
		want int
	}{{"9.6", "15", -1}, {"16", "15", 1}, {"10", "9.6", 1}, {"15", "15", 0}} {
		va, _ := parseVersion(c.a)
		vb, _ := parseVersion(c.b)
		if got := slices.Compare(va, vb); got != c.want {
			t.Errorf("compare versions %s and %s: got %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if _, ok := parseVersion("15beta"); ok {
		t.Errorf("parseVersion(15beta): got ok, want not ok")
	}

	name, err := databaseName("TestX/sub test#01-with a very long name indeed")
	if err != nil {
		t.Fatal(err)
	}
	if len(name) > 63 || strings.ToLower(name) != name || !strings.HasPrefix(name, "carelog_test_testx_sub_test_01") {
		t.Errorf("databaseName: got %q, want carelog_test_testx_sub_test_01…, lower case, at most 63 bytes", name)
	}
}
