package rules

// Evaluation is the engine's verdict on one patient-month: the
// `GET /v1/billing/months/{month}/patients/{patientId}` body minus
// asOfSequence, which the caller adds. Slices are never nil (they encode as
// []) and are ordered deterministically.
type Evaluation struct {
	PatientID string  `json:"patientId"`
	Month     string  `json:"month"`
	Status    Status  `json:"status"`
	Program   Program `json:"program"`
	// Pathway is the §1.2 column the counted minutes were priced on; it is
	// set even when they fall short of its threshold.
	Pathway        Pathway `json:"pathway"`
	CountedMinutes int     `json:"countedMinutes"`
	// UnbilledMinutes are counted minutes that no line pays for (beyond the
	// last full increment or an add-on cap, or staff time left out by the
	// practitioner pathway). An extension of the contract.
	UnbilledMinutes int        `json:"unbilledMinutes"`
	Lines           []Line     `json:"lines"`
	Reasons         []Reason   `json:"reasons"`
	Flags           []Flag     `json:"flags"`
	Excluded        []Excluded `json:"excluded"`
	RuleSetVersion  string     `json:"ruleSetVersion"`
}

// Line is one claim line. Lines of a month share date of service,
// practitioner, diagnoses and evidence; an add-on always follows its base.
type Line struct {
	Code            string   `json:"code"`
	Units           int      `json:"units"`
	DateOfService   string   `json:"dateOfService"`
	PractitionerNPI string   `json:"practitionerNpi"`
	Diagnoses       []string `json:"diagnoses"`
	// Evidence lists event ids: consent, care plan, care plan copy,
	// complexity decision (complex only), then each counted time entry.
	Evidence []string `json:"evidence"`
}

// Reason explains why a month is not billable or on hold. Minutes and Needed
// are set for below_threshold.
type Reason struct {
	Code    ReasonCode `json:"code"`
	Message string     `json:"message"`
	Minutes *int       `json:"minutes,omitempty"`
	Needed  *int       `json:"needed,omitempty"`
}

// Flag is shown for review; it never changes the status.
type Flag struct {
	Code    ReasonCode `json:"code"`
	Message string     `json:"message"`
}

// Excluded is an entry, or part of one, whose minutes were not counted, with
// the one code that excluded them.
type Excluded struct {
	EntryID string     `json:"entryId"`
	Minutes int        `json:"minutes"`
	Code    ReasonCode `json:"code"`
}

// HasReason reports whether the evaluation carries reason code c.
func (ev Evaluation) HasReason(c ReasonCode) bool {
	for _, r := range ev.Reasons {
		if r.Code == c {
			return true
		}
	}
	return false
}

// HasFlag reports whether the evaluation carries flag code c.
func (ev Evaluation) HasFlag(c ReasonCode) bool {
	for _, f := range ev.Flags {
		if f.Code == c {
			return true
		}
	}
	return false
}
