package batches

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// X12Config names the parties of the 837P interchange. Empty identifiers get
// the placeholders noted on each field; a practice must configure them (and
// its clearinghouse's values) before submitting anything.
type X12Config struct {
	// SenderID and ReceiverID are ISA06/ISA08 and GS02/GS03 (qualifier ZZ;
	// defaults "CARELOG" and "MEDICARE").
	SenderID, ReceiverID string
	// Production sets ISA15 to P; otherwise T (test).
	Production bool
	// Submitter is loop 1000A (defaults: name and id "CARELOG"); Contact
	// and Phone fill its PER segment.
	SubmitterName, SubmitterID, Contact, Phone string
	// ReceiverName is loop 1000B (default "MEDICARE"), identified by
	// ReceiverID.
	ReceiverName string
	// BillingProvider is loop 2010AA. With an NPI (the practice's group
	// billing NPI) it is the one billing provider and each claim whose
	// practitioner differs names that practitioner as rendering provider
	// (2310B); without one, claims are grouped per practitioner NPI, each
	// its own billing provider.
	BillingProvider X12Provider
	// Practitioners maps an NPI to the practitioner's name (last, first),
	// for 2010AA/2310B; unknown NPIs are named "NPI <npi>".
	Practitioners map[string][2]string
	// PayerName and PayerID are loop 2010BB (defaults "MEDICARE PART B",
	// "MEDICARE"): the practice's MAC.
	PayerName, PayerID string
	// PlaceOfService is CLM05-1 (default "11", office: ccm-rules §3 T10).
	PlaceOfService string
	// Fees prices the lines (SV102, CLM02); nil uses ScheduleFees (the
	// national estimates: a practice with its own charge master passes it);
	// an unknown code charges 0.
	Fees Fees
}

// X12Provider is a billing provider (loop 2010AA).
type X12Provider struct {
	Name, NPI, TaxID          string
	Address, City, State, Zip string
}

// X12 exports b as an ASC X12 837P (005010X222A1) interchange with one
// transaction set: ISA/GS/ST/BHT, 1000A submitter, 1000B receiver, one 2000A
// billing provider hierarchy per billing NPI, under it one 2000B subscriber
// per patient (SBR primary/self/Medicare Part B, 2010BA, 2010BB payer) with
// one 2300 claim (CLM, HI with ABK principal then ABF diagnoses, dots
// removed, at most 12; 2310B rendering provider when it differs from the
// billing provider) and one 2400 service line per batch line (LX, SV1
// HC:<code> with charge, UN units and up to four diagnosis pointers, DTP*472
// date of service); then SE (segment count from ST to SE), GE and IEA.
// Separators: element '*', component ':', repetition '^', segment '~'; those
// characters are replaced by a space inside values.
//
// Control numbers and dates derive from the batch (ISA13/GS06 = its event
// sequence modulo 10^9, ISA09/GS04 = closedAt in UTC), so the same batch
// exports the same bytes.
//
// Known gaps, to close before any submission (the structure is tested; it
// has not been run through a clearinghouse validator):
//   - 2010BA carries the Carelog patient id as name and member id (MI). The
//     Medicare Beneficiary Identifier, name, birth date, sex and address are
//     PHI held by the consent service; the export must be joined with them.
//   - DMG and subscriber N3/N4 (required when the subscriber is the patient)
//     are omitted for the same reason; 2010AA N3/N4/REF*EI appear only when
//     configured.
//   - Charges default to the national fee estimates of rules/fees, not the
//     practice's charge master.
func X12(b readmodel.Batch, cfg X12Config) []byte {
	cfg = cfg.withDefaults()
	ctl := b.Sequence % 1_000_000_000
	if ctl == 0 {
		ctl = 1
	}
	at := b.ClosedAt.UTC()
	w := &x12Writer{}
	// The ISA is fixed-width: ids padded to 15.
	w.raw(fmt.Sprintf("ISA*00*%-10s*00*%-10s*ZZ*%-15.15s*ZZ*%-15.15s*%s*%s*^*00501*%09d*0*%s*:",
		"", "", x12s(cfg.SenderID), x12s(cfg.ReceiverID), at.Format("060102"), at.Format("1504"), ctl, usage(cfg.Production)))
	w.seg("GS", "HC", x12s(cfg.SenderID), x12s(cfg.ReceiverID), at.Format("20060102"), at.Format("1504"), strconv.FormatUint(ctl, 10), "X", "005010X222A1")
	st := len(w.segs)
	w.seg("ST", "837", "0001", "005010X222A1")
	w.seg("BHT", "0019", "00", x12s(b.ID), at.Format("20060102"), at.Format("1504"), "CH")
	w.seg("NM1", "41", "2", x12s(cfg.SubmitterName), "", "", "", "", "46", x12s(cfg.SubmitterID))
	if cfg.Contact != "" || cfg.Phone != "" {
		if cfg.Phone != "" {
			w.seg("PER", "IC", x12s(cfg.Contact), "TE", x12s(cfg.Phone))
		} else {
			w.seg("PER", "IC", x12s(cfg.Contact))
		}
	}
	w.seg("NM1", "40", "2", x12s(cfg.ReceiverName), "", "", "", "", "46", x12s(cfg.ReceiverID))

	claims := claimsOf(b)
	hl := 0
	for _, group := range groupByBillingNPI(claims, cfg.BillingProvider.NPI) {
		hl++
		parent := hl
		w.seg("HL", strconv.Itoa(hl), "", "20", "1")
		if cfg.BillingProvider.NPI != "" {
			w.seg("NM1", "85", "2", x12s(orDefault(cfg.BillingProvider.Name, "BILLING PROVIDER")), "", "", "", "", "XX", x12s(group.npi))
		} else {
			last, first := cfg.practitioner(group.npi)
			w.seg("NM1", "85", "1", x12s(last), x12s(first), "", "", "", "XX", x12s(group.npi))
		}
		p := cfg.BillingProvider
		if p.Address != "" {
			w.seg("N3", x12s(p.Address))
			w.seg("N4", x12s(p.City), x12s(p.State), x12s(p.Zip))
		}
		if p.TaxID != "" {
			w.seg("REF", "EI", x12s(p.TaxID))
		}
		for _, c := range group.claims {
			hl++
			w.seg("HL", strconv.Itoa(hl), strconv.Itoa(parent), "22", "0")
			w.seg("SBR", "P", "18", "", "", "", "", "", "", "MB")
			w.seg("NM1", "IL", "1", x12s(c.patientID), "", "", "", "", "MI", x12s(c.patientID))
			w.seg("NM1", "PR", "2", x12s(cfg.PayerName), "", "", "", "", "PI", x12s(cfg.PayerID))
			charges := make([]int64, len(c.lines))
			var total int64
			for i, l := range c.lines {
				if cfg.Fees != nil {
					if cents, ok := cfg.Fees.Cents(l.Code, b.Month); ok {
						charges[i] = cents * int64(l.Units)
					}
				}
				total += charges[i]
			}
			w.seg("CLM", x12s(fmt.Sprintf("%s-%d", b.ID, c.index)), amount(total), "", "", x12s(cfg.PlaceOfService)+":B:1", "Y", "A", "Y", "Y")
			if len(c.diagnoses) > 0 {
				hi := []string{"HI"}
				for i, d := range c.diagnoses {
					if i == 12 {
						break
					}
					q := "ABF"
					if i == 0 {
						q = "ABK"
					}
					hi = append(hi, q+":"+icd(d))
				}
				w.seg(hi...)
			}
			if cfg.BillingProvider.NPI != "" && c.npi != cfg.BillingProvider.NPI {
				last, first := cfg.practitioner(c.npi)
				w.seg("NM1", "82", "1", x12s(last), x12s(first), "", "", "", "XX", x12s(c.npi))
			}
			for i, l := range c.lines {
				w.seg("LX", strconv.Itoa(i+1))
				ptrs := make([]string, 0, 4)
				for _, p := range c.pointers(l) {
					ptrs = append(ptrs, strconv.Itoa(p))
				}
				w.seg("SV1", "HC:"+x12s(l.Code), amount(charges[i]), "UN", strconv.Itoa(l.Units), "", "", strings.Join(ptrs, ":"))
				w.seg("DTP", "472", "D8", strings.ReplaceAll(x12s(l.DateOfService), "-", ""))
			}
		}
	}
	w.seg("SE", strconv.Itoa(len(w.segs)-st+1), "0001")
	w.seg("GE", "1", strconv.FormatUint(ctl, 10))
	w.seg("IEA", "1", fmt.Sprintf("%09d", ctl))
	return []byte(strings.Join(w.segs, "~") + "~")
}

type x12Writer struct{ segs []string }

func (w *x12Writer) raw(s string) { w.segs = append(w.segs, s) }

// seg writes one segment, dropping trailing empty elements (X12 5010).
func (w *x12Writer) seg(elems ...string) {
	for len(elems) > 1 && elems[len(elems)-1] == "" {
		elems = elems[:len(elems)-1]
	}
	w.segs = append(w.segs, strings.Join(elems, "*"))
}

type billingGroup struct {
	npi    string
	claims []indexedClaim
}

type indexedClaim struct {
	claim
	index int // 1-based position in the batch: CLM01 is <batch id>-<index>
}

// groupByBillingNPI: one group with every claim when the practice bills
// under npi, else one group per practitioner NPI in NPI order.
func groupByBillingNPI(claims []claim, npi string) []billingGroup {
	var groups []billingGroup
	for i, c := range claims {
		key := npi
		if key == "" {
			key = c.npi
		}
		j := slices.IndexFunc(groups, func(g billingGroup) bool { return g.npi == key })
		if j < 0 {
			groups = append(groups, billingGroup{npi: key})
			j = len(groups) - 1
		}
		groups[j].claims = append(groups[j].claims, indexedClaim{claim: c, index: i + 1})
	}
	slices.SortStableFunc(groups, func(a, b billingGroup) int { return strings.Compare(a.npi, b.npi) })
	return groups
}

func (cfg X12Config) withDefaults() X12Config {
	cfg.SenderID = orDefault(cfg.SenderID, "CARELOG")
	cfg.ReceiverID = orDefault(cfg.ReceiverID, "MEDICARE")
	cfg.SubmitterName = orDefault(cfg.SubmitterName, "CARELOG")
	cfg.SubmitterID = orDefault(cfg.SubmitterID, cfg.SenderID)
	cfg.ReceiverName = orDefault(cfg.ReceiverName, "MEDICARE")
	cfg.PayerName = orDefault(cfg.PayerName, "MEDICARE PART B")
	cfg.PayerID = orDefault(cfg.PayerID, "MEDICARE")
	cfg.PlaceOfService = orDefault(cfg.PlaceOfService, "11")
	if cfg.Fees == nil {
		cfg.Fees = ScheduleFees{}
	}
	return cfg
}

func (cfg X12Config) practitioner(npi string) (last, first string) {
	if n, ok := cfg.Practitioners[npi]; ok && n[0] != "" {
		return n[0], n[1]
	}
	return "NPI " + npi, ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func usage(production bool) string {
	if production {
		return "P"
	}
	return "T"
}

// x12s removes the interchange's delimiters from a value.
func x12s(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '*', '~', ':', '^', '\n', '\r':
			return ' '
		}
		return r
	}, s)
}

// icd writes an ICD-10-CM code as X12 wants it: no dot, upper case.
func icd(code string) string {
	return strings.ToUpper(strings.ReplaceAll(x12s(code), ".", ""))
}

// amount writes cents as an X12 decimal: no trailing zeros after the point,
// no point for whole amounts.
func amount(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	s := strconv.FormatInt(cents/100, 10)
	if frac := cents % 100; frac != 0 {
		f := fmt.Sprintf("%02d", frac)
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}
