package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/services/billing"
)

// The audit commands talk to a running Carelog over its HTTP API, never to
// the store directly, so every audit read is authorized by the token's role
// and lands in the access log like any other client's (contract.md "Audit
// (auditor)").

// DefaultURL is the API of a local `carelog serve`.
const DefaultURL = "http://127.0.0.1:8080"

// errReported is returned by a command that has already said why it fails
// (a broken chain, a batch not reproduced): exit status 1, nothing more
// printed.
var errReported = errors.New("reported")

// apiError is an error answer of the API: {"error": {code, field, message}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// apiClient is a minimal client of the Carelog API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// get sends GET path?query and returns the body of a 200 answer; any other
// status is returned as an *apiError.
func (c *apiClient) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	u := strings.TrimRight(c.base, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, decodeAPIError(res.StatusCode, body)
	}
	return body, nil
}

// getJSON is get decoding the answer into v.
func (c *apiClient) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	body, err := c.get(ctx, path, query)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: unexpected answer: %w", path, err)
	}
	return nil
}

func decodeAPIError(status int, body []byte) error {
	var wrapped struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &wrapped) == nil && wrapped.Error != nil && wrapped.Error.Code != "" {
		wrapped.Error.Status = status
		return wrapped.Error
	}
	return &apiError{Status: status, Code: strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_")),
		Message: strings.TrimSpace(string(body[:min(len(body), 200)]))}
}

// clientFlags are the connection flags every audit command shares.
type clientFlags struct{ url, token string }

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.url, "url", "", "API of a running Carelog (env CARELOG_URL; default "+DefaultURL+")")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "bearer token of an auditor or admin (env CARELOG_TOKEN)")
}

func (f clientFlags) client(env Env) (*apiClient, error) {
	c := &apiClient{base: f.url, token: f.token, http: &http.Client{Timeout: 5 * time.Minute}}
	if c.base == "" {
		c.base = env("CARELOG_URL")
	}
	if c.base == "" {
		c.base = DefaultURL
	}
	if c.token == "" {
		c.token = env("CARELOG_TOKEN")
	}
	if c.token == "" {
		return nil, usageError{errors.New("--token (or CARELOG_TOKEN) is required")}
	}
	return c, nil
}

// auditRun adapts an audit command to cobra: API and connection errors are
// printed as "carelog: <code> <field>: <message>" and exit 1; usage errors
// are left to cobra (exit 2).
func auditRun(stderr io.Writer, f *clientFlags, env Env, fn func(context.Context, *apiClient, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := f.client(env)
		if err == nil {
			err = fn(cmd.Context(), c, args)
		}
		var ue usageError
		if err == nil || errors.As(err, &ue) {
			return err
		}
		cmd.SilenceErrors = true
		if !errors.Is(err, errReported) {
			fmt.Fprintf(stderr, "carelog: %v\n", err)
		}
		return err
	}
}

func checkFormat(format string) error {
	if format != "json" && format != "table" {
		return usageError{fmt.Errorf("--format must be json or table, got %q", format)}
	}
	return nil
}

func newAudit(stdout, stderr io.Writer, env Env) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Audit a running Carelog over its API (auditor or admin token): histories, batch verification, evidence packets, the access log",
	}
	f.add(cmd)
	cmd.AddCommand(newAuditHistory(stdout, stderr, env, &f), newAuditVerifyBatch(stdout, stderr, env, &f),
		newAuditPacket(stdout, stderr, env, &f), newAuditAccessLog(stdout, stderr, env, &f))
	return cmd
}

// ---- history ----------------------------------------------------------------

// historyPage is GET /v1/audit/patients/{id}/history; events are kept as
// sent so that --format json prints them whole.
type historyPage struct {
	PatientID string            `json:"patientId"`
	Events    []json.RawMessage `json:"events"`
	Chain     chainCheck        `json:"chain"`
	Total     int               `json:"total"`
	NextAfter uint64            `json:"nextAfter,omitempty"`
}

type chainCheck struct {
	Verified bool `json:"verified"`
	Checked  int  `json:"checked"`
	FirstBad *struct {
		Sequence uint64 `json:"sequence"`
		EventID  string `json:"eventId"`
		Problem  string `json:"problem"`
		Message  string `json:"message"`
	} `json:"firstBad,omitempty"`
}

// historyEvent is what the table shows of an event.
type historyEvent struct {
	Sequence   uint64    `json:"sequence"`
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurredAt"`
	RecordedAt time.Time `json:"recordedAt"`
	Actor      struct {
		ID   string `json:"id"`
		Role string `json:"role"`
		App  string `json:"app"`
	} `json:"actor"`
	Hash  string `json:"hash"`
	Chain string `json:"chain"`
}

func newAuditHistory(stdout, stderr io.Writer, env Env, f *clientFlags) *cobra.Command {
	var patient, asOf, format string
	var until uint64
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Print every event of a patient in log order with the hash-chain verdict; exit 1 when the chain fails",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = auditRun(stderr, f, env, func(ctx context.Context, c *apiClient, _ []string) error {
		if err := checkFormat(format); err != nil {
			return err
		}
		q := url.Values{}
		if asOf != "" {
			q.Set("asOf", asOf)
		}
		if until != 0 {
			q.Set("untilSequence", strconv.FormatUint(until, 10))
		}
		h, err := readHistory(ctx, c, patient, q)
		if err != nil {
			return err
		}
		if format == "json" {
			err = printJSON(stdout, h)
		} else {
			err = printHistory(stdout, h)
		}
		if err == nil && !h.Chain.Verified {
			return errReported
		}
		return err
	})
	cmd.Flags().StringVar(&patient, "patient", "", "patient id")
	cmd.Flags().StringVar(&asOf, "as-of", "", "RFC 3339 instant: only events recorded by then")
	cmd.Flags().Uint64Var(&until, "until-seq", 0, "only events at or before this log sequence")
	cmd.Flags().StringVar(&format, "format", "table", "json or table")
	cmd.MarkFlagRequired("patient")
	return cmd
}

// readHistory follows nextAfter through every page; the chain check and
// total are the last page's (each page checks the stream from its start).
func readHistory(ctx context.Context, c *apiClient, patient string, q url.Values) (historyPage, error) {
	path := "/v1/audit/patients/" + url.PathEscape(patient) + "/history"
	q.Set("limit", "1000")
	var all historyPage
	for {
		var page historyPage
		if err := c.getJSON(ctx, path, q, &page); err != nil {
			return historyPage{}, err
		}
		page.Events = append(all.Events, page.Events...)
		next := page.NextAfter
		page.NextAfter = 0
		all = page
		if next == 0 {
			return all, nil
		}
		q.Set("after", strconv.FormatUint(next, 10))
	}
}

func printHistory(w io.Writer, h historyPage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tRECORDED\tOCCURRED\tTYPE\tACTOR\tHASH\tCHAIN")
	for _, raw := range h.Events {
		var e historyEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("history: unexpected event: %w", err)
		}
		actor := e.Actor.Role + ":" + e.Actor.ID
		if e.Actor.App != "" {
			actor += " (" + e.Actor.App + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Sequence, e.RecordedAt.UTC().Format(time.RFC3339),
			e.OccurredAt.Format(time.RFC3339), e.Type, actor, e.Hash[:min(12, len(e.Hash))], e.Chain)
	}
	tw.Flush()
	fmt.Fprintln(w, chainVerdict(h.Chain))
	return nil
}

// chainVerdict is the last line of the history table.
func chainVerdict(c chainCheck) string {
	if c.Verified {
		return fmt.Sprintf("chain: verified (%d events)", c.Checked)
	}
	if b := c.FirstBad; b != nil {
		return fmt.Sprintf("chain: FAILED at sequence %d (event %s): %s: %s", b.Sequence, dash(b.EventID), b.Problem, b.Message)
	}
	return fmt.Sprintf("chain: FAILED after %d events", c.Checked)
}

// ---- verify-batch -------------------------------------------------------------

// batchVerification is the verification route's body, billing's own type.
type batchVerification = billing.BatchVerification

func newAuditVerifyBatch(stdout, stderr io.Writer, env Env, f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify-batch BATCH-ID",
		Short: "Replay the log to a claim batch's log sequence and compare content hashes; exit 1 when not reproduced",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = auditRun(stderr, f, env, func(ctx context.Context, c *apiClient, args []string) error {
		var v batchVerification
		if err := c.getJSON(ctx, "/v1/audit/claim-batches/"+url.PathEscape(args[0])+"/verification", nil, &v); err != nil {
			return err
		}
		printVerification(stdout, v)
		if !v.Reproduced {
			return errReported
		}
		return nil
	})
	return cmd
}

func printVerification(w io.Writer, v batchVerification) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	verdict := "yes"
	if !v.Reproduced {
		verdict = "NO"
	}
	diff := "none"
	if d := v.FirstDifference; d != nil {
		diff = d.String()
	}
	fmt.Fprintf(tw, "batch\t%s (%s, log sequence %d)\n", v.BatchID, v.Month, v.LogSequence)
	fmt.Fprintf(tw, "reproduced\t%s\n", verdict)
	fmt.Fprintf(tw, "content hash\t%s\n", v.ContentHash)
	fmt.Fprintf(tw, "recorded lines hash\t%s\n", v.RecordedContentHash)
	fmt.Fprintf(tw, "recomputed hash\t%s\n", v.RecomputedHash)
	fmt.Fprintf(tw, "first difference\t%s\n", diff)
	fmt.Fprintf(tw, "events replayed\t%d in %d ms (rule set %s)\n", v.EventsReplayed, v.ReplayMillis, v.RuleSetVersion)
	tw.Flush()
}

// ---- packet ---------------------------------------------------------------------

func newAuditPacket(stdout, stderr io.Writer, env Env, f *clientFlags) *cobra.Command {
	var patient, month, out, html, asOf string
	cmd := &cobra.Command{
		Use:   "packet",
		Short: "Write the audit packet of a patient-month as JSON (and optionally its printable HTML)",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = auditRun(stderr, f, env, func(ctx context.Context, c *apiClient, _ []string) error {
		path := "/v1/audit/patients/" + url.PathEscape(patient) + "/evidence"
		q := url.Values{"month": {month}}
		if asOf != "" {
			q.Set("asOf", asOf)
		}
		if err := writePacket(ctx, c, path, q, out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", out)
		if html == "" {
			return nil
		}
		q.Set("format", "html")
		body, err := c.get(ctx, path, q)
		if err != nil {
			return err
		}
		if err := os.WriteFile(html, body, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", html)
		return nil
	})
	cmd.Flags().StringVar(&patient, "patient", "", "patient id")
	cmd.Flags().StringVar(&month, "month", "", "service month, YYYY-MM")
	cmd.Flags().StringVar(&out, "out", "", "file to write the JSON packet to")
	cmd.Flags().StringVar(&html, "html", "", "also write the printable HTML packet to this file")
	cmd.Flags().StringVar(&asOf, "as-of", "", "RFC 3339 instant: build the packet from the facts recorded by then")
	for _, name := range []string{"patient", "month", "out"} {
		cmd.MarkFlagRequired(name)
	}
	return cmd
}

// writePacket writes the JSON packet indented, exactly as the API sent it.
// The file holds patient data: it is created readable by its owner only.
func writePacket(ctx context.Context, c *apiClient, path string, q url.Values, out string) error {
	var packet json.RawMessage
	if err := c.getJSON(ctx, path, q, &packet); err != nil {
		return err
	}
	b, err := json.MarshalIndent(packet, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o600)
}

// ---- access-log -----------------------------------------------------------------

// The access log's wire types are pkg/accesslog's own.
type (
	accessPage   = accesslog.Page
	accessRecord = accesslog.Entry
)

func newAuditAccessLog(stdout, stderr io.Writer, env Env, f *clientFlags) *cobra.Command {
	var patient, since, format string
	cmd := &cobra.Command{
		Use:   "access-log",
		Short: "Print who read or changed patient data, when and through which endpoint (every page)",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = auditRun(stderr, f, env, func(ctx context.Context, c *apiClient, _ []string) error {
		if err := checkFormat(format); err != nil {
			return err
		}
		q := url.Values{"limit": {"1000"}}
		if patient != "" {
			q.Set("patientId", patient)
		}
		if since != "" {
			q.Set("since", since)
		}
		var all accessPage
		for {
			var page accessPage
			if err := c.getJSON(ctx, "/v1/audit/access-log", q, &page); err != nil {
				return err
			}
			all.Records = append(all.Records, page.Records...)
			if page.NextAfter == 0 {
				break
			}
			q.Set("after", strconv.FormatUint(page.NextAfter, 10))
		}
		if all.Records == nil {
			all.Records = []accessRecord{}
		}
		if format == "json" {
			return printJSON(stdout, all)
		}
		printAccess(stdout, all.Records)
		return nil
	})
	cmd.Flags().StringVar(&patient, "patient", "", `only this patient's records ("_" for audit reads of no single patient)`)
	cmd.Flags().StringVar(&since, "since", "", "RFC 3339 instant: records at or after it")
	cmd.Flags().StringVar(&format, "format", "table", "json or table")
	return cmd
}

func printAccess(w io.Writer, recs []accessRecord) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tAT\tPATIENT\tROLE\tTOKEN\tKIND\tMETHOD\tROUTE\tSTATUS\tTARGET")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Sequence, r.At.UTC().Format(time.RFC3339), dash(r.PatientID),
			r.Role, r.TokenID, r.Kind, r.Method, r.Route, r.Status, dash(r.Target))
	}
	tw.Flush()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
