package auth

import (
	"strings"

	"github.com/carelog/carelog/pkg/errs"
)

// Role is what a token may do (api/contract.md, Conventions).
type Role string

// The roles of the contract.
const (
	// Clinician writes clinical facts and reads patients.
	Clinician Role = "clinician"
	// Biller reads billing, closes months and exports claim batches.
	Biller Role = "biller"
	// Auditor reads everything and writes nothing.
	Auditor Role = "auditor"
	// Admin may do everything, and manages tokens and settings.
	Admin Role = "admin"
)

// allRoles lists every role, in the contract's order.
var allRoles = []Role{Clinician, Biller, Auditor, Admin}

// ParseRole returns the role named s, or an Invalid error naming field
// "role".
func ParseRole(s string) (Role, error) {
	for _, r := range allRoles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", errs.Field("auth.ParseRole", "role", "must be one of %s", joinRoles(allRoles, ", "))
}

func joinRoles(rs []Role, sep string) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, sep)
}
