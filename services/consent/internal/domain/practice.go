package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
	// The practice's time zone is checked with time.LoadLocation, which must
	// not depend on the host's zoneinfo files: every binary linking the
	// rules embeds the IANA database.
	_ "time/tzdata"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/rules"
)

// ErrUnchanged is returned by DecideConfigure and DecideRegister when the
// state already holds exactly the proposed content. PUT is idempotent: the
// caller answers 200 with the current resource and writes nothing.
var ErrUnchanged = errors.New("domain: unchanged")

// Practitioner kinds: the practitioners who may bill care management
// (ccm-rules §1.1).
var PractitionerKinds = []string{"physician", "np", "pa", "cns", "cnm"}

// Practice is the state of the practice stream (events.PracticeStream).
type Practice struct {
	// Config is the current configuration; ConfigEventID is "" until the
	// practice is configured.
	Config         events.PracticeConfigured
	ConfigEventID  string
	ConfigSequence uint64
	// Practitioners by NPI. Shared between states: never modify, Evolve
	// replaces it.
	Practitioners map[string]Practitioner
}

// Configured reports whether PUT /v1/practice has been done.
func (p Practice) Configured() bool { return p.ConfigEventID != "" }

// Location is the practice's time zone, or nil when it is not configured.
func (p Practice) Location() *time.Location {
	if !p.Configured() {
		return nil
	}
	loc, err := time.LoadLocation(p.Config.Timezone)
	if err != nil {
		return nil
	}
	return loc
}

// Practitioner is a registered practitioner with the event that registered
// (or last replaced) it.
type Practitioner struct {
	events.PractitionerRegistered
	EventID  string
	Sequence uint64
}

// Registered reports whether npi is a registered practitioner.
func (p Practice) Registered(npi string) bool {
	_, ok := p.Practitioners[npi]
	return ok
}

// EvolvePractice applies one event of the practice stream. Events of other
// types are ignored.
func EvolvePractice(s Practice, rec eventlog.Record) Practice {
	switch rec.Type {
	case events.TypePracticeConfigured:
		var c events.PracticeConfigured
		if decode(rec, &c) {
			s.Config, s.ConfigEventID, s.ConfigSequence = c, rec.ID, rec.Sequence
		}
	case events.TypePractitionerRegistered:
		var r events.PractitionerRegistered
		if decode(rec, &r) {
			m := maps.Clone(s.Practitioners)
			if m == nil {
				m = map[string]Practitioner{}
			}
			m[r.NPI] = Practitioner{PractitionerRegistered: r, EventID: rec.ID, Sequence: rec.Sequence}
			s.Practitioners = m
		}
	}
	return s
}

// decode reads rec's payload (upcast to the latest version) into dst, a
// pointer to the payload struct of rec's type. It reports false for an event
// it cannot read, which a fold then ignores (folds never fail).
func decode[T any](rec eventlog.Record, dst *T) bool {
	v, err := events.DefaultRegistry().Decode(rec.Envelope)
	if err != nil {
		return false
	}
	p, ok := v.(*T)
	if ok {
		*dst = *p
	}
	return ok
}

// PracticeSettings is the body of PUT /v1/practice.
type PracticeSettings struct {
	Name string `json:"name"`
	// Timezone is an IANA zone name; it decides which calendar month a
	// minute belongs to (ccm-rules T12, §8 A9).
	Timezone   string `json:"timezone"`
	BillingNPI string `json:"billingNpi"`
	// TaxID is the EIN, NN-NNNNNNN or 9 digits; it is stored as 9 digits.
	TaxID string `json:"taxId"`
	// Policy holds the §8 settings (services/billing/rules.Policy); a setting
	// left out takes its default. Absent or null means every default.
	Policy json.RawMessage `json:"policy,omitempty"`
}

// Event validates the settings and returns the practice.configured payload,
// whose policy holds every setting spelled out (the defaults applied), so
// the event records the whole effective policy.
func (in PracticeSettings) Event() (events.PracticeConfigured, error) {
	const op = "consent.ConfigurePractice"
	if err := text(op, "name", in.Name, 200); err != nil {
		return events.PracticeConfigured{}, err
	}
	if err := validTimezone(op, in.Timezone); err != nil {
		return events.PracticeConfigured{}, err
	}
	if !ValidNPI(in.BillingNPI) {
		return events.PracticeConfigured{}, errs.Field(op, "billingNpi", "must be a valid NPI (10 digits with a correct check digit)")
	}
	tax, ok := NormalizeEIN(in.TaxID)
	if !ok {
		return events.PracticeConfigured{}, errs.Field(op, "taxId", "must be an EIN: NN-NNNNNNN or 9 digits")
	}
	pol, err := EffectivePolicy(in.Policy)
	if err != nil {
		return events.PracticeConfigured{}, err
	}
	raw, err := json.Marshal(pol)
	if err != nil {
		return events.PracticeConfigured{}, errs.Wrap(op, errs.Internal, err)
	}
	return events.PracticeConfigured{Name: in.Name, Timezone: in.Timezone, BillingNPI: in.BillingNPI, TaxID: tax, Policy: raw}, nil
}

func validTimezone(op, tz string) error {
	if tz == "" {
		return errs.Field(op, "timezone", "is required")
	}
	// "Local" names the server's zone, not a place; "" would be UTC.
	if tz == "Local" {
		return errs.Field(op, "timezone", "must be an IANA time zone name, e.g. America/Chicago")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return errs.Field(op, "timezone", "must be an IANA time zone name, e.g. America/Chicago")
	}
	return nil
}

// EffectivePolicy decodes the policy object of PUT /v1/practice strictly
// and returns it with every setting it leaves out (or sets to its empty
// value) at its ccm-rules §8 default (rules.DefaultPolicy).
//
// Errors are errs.Invalid naming the field: "policy" when it is not an
// object, "policy.<key>" for a key rules.Policy does not have (key names are
// matched exactly, not case-insensitively as encoding/json would), for a
// value of the wrong JSON type, and for a value rules.Policy.Validate
// refuses.
func EffectivePolicy(raw json.RawMessage) (rules.Policy, error) {
	const op = "consent.ConfigurePractice"
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return rules.DefaultPolicy(), nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &keys); err != nil {
		return rules.Policy{}, errs.Field(op, "policy", "must be a JSON object")
	}
	known := policyKeys()
	names := slices.Sorted(maps.Keys(keys))
	for _, k := range names {
		if _, ok := known[k]; !ok {
			return rules.Policy{}, errs.Field(op, "policy."+k, "is not a known setting")
		}
	}
	var p rules.Policy
	pv := reflect.ValueOf(&p).Elem()
	for _, k := range names {
		f := pv.Field(known[k])
		if err := json.Unmarshal(keys[k], f.Addr().Interface()); err != nil {
			return rules.Policy{}, errs.Field(op, "policy."+k, "must be a JSON %s", jsonKind(f.Kind()))
		}
	}
	if err := validatePolicy(p); err != nil {
		return rules.Policy{}, err
	}
	// Every setting's empty value means its default (rules.Policy): spell
	// the defaults out.
	def := reflect.ValueOf(rules.DefaultPolicy())
	for i := range pv.NumField() {
		if pv.Field(i).IsZero() {
			pv.Field(i).Set(def.Field(i))
		}
	}
	return p, nil
}

// validatePolicy runs rules.Policy.Validate. Validate reports every problem
// at once without saying which field each concerns, so on failure each set
// field is validated alone to name the first one that fails.
func validatePolicy(p rules.Policy) error {
	const op = "consent.ConfigurePractice"
	if p.Validate() == nil {
		return nil
	}
	pv := reflect.ValueOf(p)
	t := pv.Type()
	for i := range t.NumField() {
		var one rules.Policy
		reflect.ValueOf(&one).Elem().Field(i).Set(pv.Field(i))
		if err := one.Validate(); err != nil {
			return &errs.Error{Op: op, Kind: errs.Invalid, Field: "policy." + jsonName(t.Field(i)), Message: err.Error()}
		}
	}
	return errs.Field(op, "policy", "is not a valid policy")
}

// policyKeys maps each JSON key of rules.Policy to its field index.
func policyKeys() map[string]int {
	t := reflect.TypeFor[rules.Policy]()
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			out[jsonName(t.Field(i))] = i
		}
	}
	return out
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Bool:
		return "boolean"
	}
	return "value"
}

// DecideConfigure checks a practice.configured payload against the practice
// state: ErrUnchanged when it equals the current configuration (PUT with
// identical content writes nothing). Any other configuration replaces the
// current one whole.
func DecideConfigure(s Practice, e events.PracticeConfigured) error {
	if s.Configured() && sameConfig(s.Config, e) {
		return ErrUnchanged
	}
	return nil
}

func sameConfig(a, b events.PracticeConfigured) bool {
	if a.Name != b.Name || a.Timezone != b.Timezone || a.BillingNPI != b.BillingNPI || a.TaxID != b.TaxID {
		return false
	}
	var pa, pb rules.Policy
	if json.Unmarshal(a.Policy, &pa) != nil || json.Unmarshal(b.Policy, &pb) != nil {
		return bytes.Equal(a.Policy, b.Policy)
	}
	return pa == pb
}

// PractitionerInput is the body of PUT /v1/practitioners/{npi}.
type PractitionerInput struct {
	Name string `json:"name"`
	// Kind is physician, np, pa, cns or cnm (ccm-rules §1.1).
	Kind string `json:"kind"`
	// Credential is written after the name ("MD", "DO", "NP", "PA-C").
	Credential string `json:"credential"`
}

// Event validates a registration of the practitioner npi (the path
// parameter) and returns the practitioner.registered payload.
func (in PractitionerInput) Event(npi string) (events.PractitionerRegistered, error) {
	const op = "consent.RegisterPractitioner"
	if !ValidNPI(npi) {
		return events.PractitionerRegistered{}, errs.Field(op, "npi", "must be a valid NPI (10 digits with a correct check digit)")
	}
	if err := text(op, "name", in.Name, 200); err != nil {
		return events.PractitionerRegistered{}, err
	}
	if err := oneOf(op, "kind", in.Kind, PractitionerKinds...); err != nil {
		return events.PractitionerRegistered{}, err
	}
	if err := text(op, "credential", in.Credential, 20); err != nil {
		return events.PractitionerRegistered{}, err
	}
	return events.PractitionerRegistered{NPI: npi, Name: in.Name, Kind: in.Kind, Credential: in.Credential}, nil
}

// DecideRegister checks a practitioner.registered payload against the
// practice state: ErrUnchanged when the practitioner is registered with
// exactly this content; otherwise it registers or replaces it.
func DecideRegister(s Practice, e events.PractitionerRegistered) error {
	if cur, ok := s.Practitioners[e.NPI]; ok && cur.PractitionerRegistered == e {
		return ErrUnchanged
	}
	return nil
}
