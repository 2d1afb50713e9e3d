package facts

import (
	"encoding/binary"
	"slices"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/services/billing/rules"
	"github.com/carelog/carelog/services/careplan/plan"
)

// A care plan is folded with services/careplan/plan, and the rules read
// little of it: rules.CarePlan, now and as of any earlier sequence. So the
// fold keeps that view (Patient.plans), the few fields that a revision
// changes for each earlier state of the plan (planVersion: as-of
// evaluation), and the plan's elements packed into one string without
// pointers (content), unpacked only to apply a revision with plan.Revise.

// carePlan is what the fold keeps of a plan beside its view.
type carePlan struct {
	// seq is the sequence of the plan's establishment.
	seq uint64
	// content is the plan's elements (packPlan): what plan.Revise and
	// plan.Missing read besides the view's header.
	content string
	copies  list[rules.CarePlanCopy]
	// revisedSeq is the sequence of the plan's latest revision (0: none).
	revisedSeq uint64
	// versions are the states the plan was in before its latest revision,
	// oldest (its establishment) first; nil while it was never revised.
	versions []planVersion
}

// planVersion is the part of a plan's view that a revision changes, from
// sequence seq on.
type planVersion struct {
	seq        uint64
	electronic bool
	missing    []string
}

func (p *Patient) establishPlan(e *events.CarePlanEstablished, eventID string, seq uint64) bool {
	if slices.ContainsFunc(p.plans, func(v rules.CarePlan) bool { return v.ID == e.ID }) {
		return false // a plan is established once
	}
	cur := plan.Established(*e, eventID)
	p.plans = append(p.plans, rules.CarePlan{
		ID: cur.ID, Kind: cur.Kind, EstablishedAt: cur.EstablishedAt, AuthorNPI: cur.AuthorNPI, Electronic: cur.Electronic,
		MissingElements: cur.Missing(), EventID: eventID,
	})
	p.planState = append(p.planState, carePlan{seq: seq, content: packPlan(&cur)})
	return true
}

func (p *Patient) revisePlan(e *events.CarePlanRevised, eventID string, seq uint64) bool {
	i := p.planIndex(e.PlanID)
	if i < 0 {
		return false
	}
	v, st := p.plans[i], &p.planState[i]
	cur := unpackPlan(st.content, &v)
	next := cur.Revise(*e, eventID)
	was := planVersion{seq: st.revisedSeq, electronic: v.Electronic, missing: v.MissingElements}
	if st.versions == nil {
		was.seq = st.seq
	}
	st.versions = append(st.versions, was)
	st.revisedSeq = seq
	st.content = packPlan(&next)
	v.Electronic, v.MissingElements = next.Electronic, next.Revisions[len(next.Revisions)-1].MissingElements
	p.setPlan(i, v)
	return true
}

func (p *Patient) copyPlan(e *events.CarePlanCopyProvided, eventID string, seq uint64) bool {
	i := p.planIndex(e.PlanID)
	if i < 0 {
		return false
	}
	st := &p.planState[i]
	st.copies.add(rules.CarePlanCopy{ProvidedAt: e.ProvidedAt, To: e.To, Method: e.Method, EventID: eventID}, seq)
	v := p.plans[i]
	v.Copies = st.copies.through(0)
	p.setPlan(i, v)
	if p.firstCopy == 0 {
		p.firstCopy = int32(i) + 1
	}
	return true
}

// planIndex returns the index of the plan id, or -1.
func (p *Patient) planIndex(id string) int {
	for i := range p.plans {
		if p.plans[i].ID == id {
			return i
		}
	}
	return -1
}

// setPlan replaces the view of plan i. The views are copied first: Facts
// handed out the current ones, which never change.
func (p *Patient) setPlan(i int, v rules.CarePlan) {
	p.plans = slices.Clone(p.plans)
	p.plans[i] = v
}

// plansThrough returns the views of the plans as of sequence through (0:
// now); the current views themselves when nothing changed since.
func (p *Patient) plansThrough(through uint64) []rules.CarePlan {
	n := len(p.plans)
	if through != 0 {
		for n > 0 && p.planState[n-1].seq > through {
			n--
		}
	}
	views := p.plans[:n:n]
	if n == 0 {
		return []rules.CarePlan{}
	}
	if through == 0 {
		return views
	}
	var out []rules.CarePlan
	for i := range views {
		st := &p.planState[i]
		copies := st.copies.seq
		if st.revisedSeq <= through && (len(copies) == 0 || copies[len(copies)-1] <= through) {
			continue
		}
		if out == nil {
			out = slices.Clone(views)
		}
		v := &out[i]
		if st.revisedSeq > through {
			for k := len(st.versions) - 1; k >= 0; k-- {
				if st.versions[k].seq <= through {
					v.Electronic, v.MissingElements = st.versions[k].electronic, st.versions[k].missing
					break
				}
			}
		}
		v.Copies = st.copies.through(through)
	}
	if out == nil {
		return views
	}
	return out
}

// ---- packing -------------------------------------------------------------------

// packPlan packs the elements of p: every field but its header (which the
// view keeps), its revisions and its copies.
func packPlan(p *plan.Plan) string {
	var buf [512]byte
	b := buf[:0]
	b = appendCount(b, p.Problems == nil, len(p.Problems))
	for _, x := range p.Problems {
		b = appendText(b, x.Code)
		b = appendText(b, x.Description)
	}
	b = appendText(b, p.ExpectedOutcome)
	b = appendText(b, p.Prognosis)
	b = appendCount(b, p.Goals == nil, len(p.Goals))
	for _, x := range p.Goals {
		b = appendText(b, x.ConditionCode)
		b = appendText(b, x.Description)
		b = appendText(b, x.Measure)
		b = appendText(b, x.Target)
		b = appendText(b, x.TargetDate)
	}
	b = appendText(b, p.SymptomManagement)
	b = appendCount(b, p.Interventions == nil, len(p.Interventions))
	for _, x := range p.Interventions {
		b = appendText(b, x.Description)
		b = appendText(b, x.ConditionCode)
		b = appendText(b, x.Responsible.Name)
		b = appendText(b, x.Responsible.Role)
		b = appendText(b, x.Responsible.StaffID)
		b = appendText(b, x.Frequency)
	}
	b = appendCount(b, p.Medications == nil, len(p.Medications))
	for _, x := range p.Medications {
		b = appendText(b, x.Name)
		b = appendText(b, x.Dose)
		b = appendText(b, x.Frequency)
		b = appendText(b, x.Indication)
		b = appendText(b, x.Notes)
	}
	b = appendCount(b, p.CommunityResources == nil, len(p.CommunityResources))
	for _, x := range p.CommunityResources {
		b = appendText(b, x.Name)
		b = appendText(b, x.Purpose)
		b = appendText(b, x.Contact)
	}
	b = appendCount(b, p.Coordination == nil, len(p.Coordination))
	for _, x := range p.Coordination {
		b = appendText(b, x.Name)
		b = appendText(b, x.Role)
		b = appendText(b, x.Organization)
		b = appendText(b, x.NPI)
		b = appendText(b, x.Purpose)
	}
	b = binary.AppendVarint(b, int64(p.ReviewSchedule.IntervalMonths))
	b = appendText(b, p.ReviewSchedule.NextReviewDate)
	b = appendText(b, p.CognitiveFunctionalAssessment)
	b = appendText(b, p.EnvironmentalEvaluation)
	b = appendText(b, p.CaregiverAssessment)
	return string(b)
}

// appendCount writes a list's length, 0 for a nil list.
func appendCount(b []byte, isNil bool, n int) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

// unpackPlan returns the plan with header v and the elements packed in
// content (its strings share content's storage).
func unpackPlan(content string, v *rules.CarePlan) plan.Plan {
	p := plan.Plan{ID: v.ID, Kind: v.Kind, EstablishedAt: v.EstablishedAt, AuthorNPI: v.AuthorNPI, Electronic: v.Electronic, EventID: v.EventID}
	r := textReader{s: content}
	p.Problems = unpackList[events.CarePlanProblem](&r)
	for i := range p.Problems {
		x := &p.Problems[i]
		x.Code, x.Description = r.next(), r.next()
	}
	p.ExpectedOutcome = r.next()
	p.Prognosis = r.next()
	p.Goals = unpackList[events.CarePlanGoal](&r)
	for i := range p.Goals {
		x := &p.Goals[i]
		x.ConditionCode, x.Description, x.Measure, x.Target, x.TargetDate = r.next(), r.next(), r.next(), r.next(), r.next()
	}
	p.SymptomManagement = r.next()
	p.Interventions = unpackList[events.CarePlanIntervention](&r)
	for i := range p.Interventions {
		x := &p.Interventions[i]
		x.Description, x.ConditionCode = r.next(), r.next()
		x.Responsible.Name, x.Responsible.Role, x.Responsible.StaffID = r.next(), r.next(), r.next()
		x.Frequency = r.next()
	}
	p.Medications = unpackList[events.Medication](&r)
	for i := range p.Medications {
		x := &p.Medications[i]
		x.Name, x.Dose, x.Frequency, x.Indication, x.Notes = r.next(), r.next(), r.next(), r.next(), r.next()
	}
	p.CommunityResources = unpackList[events.CommunityResource](&r)
	for i := range p.CommunityResources {
		x := &p.CommunityResources[i]
		x.Name, x.Purpose, x.Contact = r.next(), r.next(), r.next()
	}
	p.Coordination = unpackList[events.CoordinationContact](&r)
	for i := range p.Coordination {
		x := &p.Coordination[i]
		x.Name, x.Role, x.Organization, x.NPI, x.Purpose = r.next(), r.next(), r.next(), r.next(), r.next()
	}
	p.ReviewSchedule.IntervalMonths = r.varint()
	p.ReviewSchedule.NextReviewDate = r.next()
	p.CognitiveFunctionalAssessment = r.next()
	p.EnvironmentalEvaluation = r.next()
	p.CaregiverAssessment = r.next()
	return p
}

func unpackList[T any](r *textReader) []T {
	n := r.uvarint()
	if n == 0 {
		return nil
	}
	return make([]T, n-1)
}

func (r *textReader) varint() int {
	u := uint64(r.uvarint())
	n := int64(u >> 1)
	if u&1 != 0 {
		n = ^n
	}
	return int(n)
}
