package domain

import (
	"slices"

	"github.com/carelog/carelog/events"
)

// Thresholds of the qualifying conditions (ccm-rules §1.1).
const (
	// CCMMinMonths: CCM needs conditions expected to last at least 12 months
	// (or until death).
	CCMMinMonths = 12
	// PCMMinMonths: PCM needs one condition expected to last at least 3
	// months.
	PCMMinMonths = 3
	// CCMMinConditions: CCM needs two or more qualifying conditions.
	CCMMinConditions = 2
)

// QualifiesCCM reports whether c counts towards CCM eligibility: expected
// to last 12 months or more and placing the patient at significant risk of
// death, acute exacerbation/decompensation or functional decline (§1.1,
// 99490).
func QualifiesCCM(c events.ConditionRecorded) bool {
	return c.SignificantRisk && c.ExpectedDurationMonths >= CCMMinMonths
}

// QualifiesPCM reports whether c can be PCM's single high-risk condition:
// expected to last 3 months or more, with significant risk (§1.1, 99424).
// PCM also needs frequent medication adjustments or unusually complex
// management, which no recorded field states: that stays the clinician's
// call.
func QualifiesPCM(c events.ConditionRecorded) bool {
	return c.SignificantRisk && c.ExpectedDurationMonths >= PCMMinMonths
}

// Qualifying is the chronic-condition side of CCM/PCM eligibility.
type Qualifying struct {
	// CCMCodes and PCMCodes are the distinct qualifying ICD-10-CM codes,
	// sorted; never nil.
	CCMCodes []string `json:"ccmCodes"`
	PCMCodes []string `json:"pcmCodes"`
	// CCMCount and PCMCount are their lengths.
	CCMCount int `json:"ccmCount"`
	PCMCount int `json:"pcmCount"`
	// CCM: at least two qualifying conditions (reason
	// insufficient_chronic_conditions otherwise). PCM: at least one.
	CCM bool `json:"ccm"`
	PCM bool `json:"pcm"`
}

// QualifyingChronic reports which of conditions qualify for CCM and PCM.
// A code recorded more than once counts once: the rule is about distinct
// conditions, and the OIG's current audit focus is exactly claims without
// two of them (§6.2, OAS-26-09-007).
func QualifyingChronic(conditions []events.ConditionRecorded) Qualifying {
	q := Qualifying{CCMCodes: []string{}, PCMCodes: []string{}}
	for _, c := range conditions {
		if QualifiesCCM(c) && !slices.Contains(q.CCMCodes, c.Code) {
			q.CCMCodes = append(q.CCMCodes, c.Code)
		}
		if QualifiesPCM(c) && !slices.Contains(q.PCMCodes, c.Code) {
			q.PCMCodes = append(q.PCMCodes, c.Code)
		}
	}
	slices.Sort(q.CCMCodes)
	slices.Sort(q.PCMCodes)
	q.CCMCount, q.PCMCount = len(q.CCMCodes), len(q.PCMCodes)
	q.CCM, q.PCM = q.CCMCount >= CCMMinConditions, q.PCMCount >= 1
	return q
}
