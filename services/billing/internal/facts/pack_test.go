package facts

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/services/billing/rules"
	"github.com/carelog/carelog/services/careplan/plan"
)

// fill sets every exported field of v, at any depth, to a random value:
// strings of every length class (empty, vocabulary, multibyte, longer than
// a one-byte length or the packers' stack buffers), ints of every size and
// sign, instants in several zones, nil, empty and filled lists. A field of
// a kind it does not know fails the test: the packed forms would need it.
func fill(t *testing.T, r *rand.Rand, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString([]string{"", "rn", "ccm", "completed", "medication reconciliation", "Dr \"Ü\" ✓", strings.Repeat("x", 130), strings.Repeat("é", 300)}[r.IntN(8)])
	case reflect.Int:
		v.SetInt([]int64{0, 1, -1, 59, 1 << 40, -1 << 62}[r.IntN(6)])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Slice:
		switch n := r.IntN(5); n {
		case 0:
			v.SetZero()
		default:
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range n - 1 {
				fill(t, r, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			loc := []*time.Location{time.UTC, time.FixedZone("", -5*3600), time.FixedZone("X", 3600+1800)}[r.IntN(3)]
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In(loc)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, r, v.Field(i))
			}
		}
	default:
		t.Fatalf("fill: a field of kind %s (%s): the packed forms do not know it", v.Kind(), v.Type())
	}
}

// A time entry version packs and unpacks to itself, field for field.
func TestPackedEntryRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var e rules.TimeEntry
		fill(t, r, reflect.ValueOf(&e).Elem())
		if i%3 == 0 {
			e.Programs = singleByCode[vocabCode[[]string{"ccm", "pcm", "tcm"}[i%2]]]
		}
		en := packEntry(&e, 9)
		if got := en.unpack(); !reflect.DeepEqual(got, e) {
			t.Fatalf("got  %+v\nwant %+v", got, e)
		}
		if en.id() != e.ID || en.eventID() != e.EventID || en.seq != 9 {
			t.Fatalf("id %q, event id %q, seq %d: want %q, %q, 9", en.id(), en.eventID(), en.seq, e.ID, e.EventID)
		}
	}
}

// A plan's elements pack and unpack to themselves: with its view's header,
// the plan that unpackPlan returns is the plan, but for what the fold does
// not keep (its revisions and copies, which plan.Missing and plan.Revise
// do not read).
func TestPackedPlanRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var p plan.Plan
		fill(t, r, reflect.ValueOf(&p).Elem())
		p.Revisions, p.RevisionCount, p.LastRevisedAt, p.Copies = nil, 0, time.Time{}, nil
		view := rules.CarePlan{ID: p.ID, Kind: p.Kind, EstablishedAt: p.EstablishedAt, AuthorNPI: p.AuthorNPI, Electronic: p.Electronic, EventID: p.EventID}
		if got := unpackPlan(packPlan(&p), &view); !reflect.DeepEqual(got, p) {
			t.Fatalf("got  %+v\nwant %+v", got, p)
		}
	}
}
