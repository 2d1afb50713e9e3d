package facts

import (
	"reflect"
	"strings"
	"time"

	"github.com/carelog/carelog/events"
)

// The fields of each payload struct the fast decoders read, derived from the
// structs themselves so that they cannot drift from the catalogue: the JSON
// name of every field and how encoding/json would decode it.

type kind uint8

const (
	kindString kind = iota
	kindTime
	kindInt
	kindBool
	kindStrings
	kindObject
	kindObjects
)

type field struct {
	name   string
	kind   kind
	fields fields // of an object or of each element of an object list
}

type fields []field

// sub returns the fields of the object (or object list) field name.
func (fs fields) sub(name string) fields {
	for _, f := range fs {
		if f.name == name {
			return f.fields
		}
	}
	panic("facts: no field " + name) // a typo in this package, caught by any test
}

var (
	knownEntry     = fieldsOf[events.TimeEntry]()
	knownEnrolled  = fieldsOf[events.PatientEnrolled]()
	knownCondition = fieldsOf[events.ConditionRecorded]()
	knownConsent   = fieldsOf[events.ConsentGranted]()
	knownEncounter = fieldsOf[events.EncounterRecorded]()
	knownCopy      = fieldsOf[events.CarePlanCopyProvided]()
	knownPlan      = fieldsOf[events.CarePlanEstablished]()

	knownStaff              = knownEntry.sub("staff")
	knownProblems           = knownPlan.sub("problems")
	knownGoals              = knownPlan.sub("goals")
	knownInterventions      = knownPlan.sub("interventions")
	knownResponsible        = knownInterventions.sub("responsible")
	knownMedications        = knownPlan.sub("medications")
	knownCommunityResources = knownPlan.sub("communityResources")
	knownCoordination       = knownPlan.sub("coordination")
	knownReviewSchedule     = knownPlan.sub("reviewSchedule")
)

func fieldsOf[T any]() fields { return fieldsOfType(reflect.TypeFor[T]()) }

var timeType = reflect.TypeFor[time.Time]()

// fieldsOfType lists a struct's JSON fields. It panics on a field type it
// does not know: the payloads hold only strings, ints, bools, times, string
// lists, structs and struct lists, and a new kind needs a decoder here.
func fieldsOfType(t reflect.Type) fields {
	var out fields
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		f := field{name: name}
		switch {
		case ft == timeType:
			f.kind = kindTime
		case ft.Kind() == reflect.String:
			f.kind = kindString
		case ft.Kind() == reflect.Int:
			f.kind = kindInt
		case ft.Kind() == reflect.Bool:
			f.kind = kindBool
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			f.kind = kindStrings
		case ft.Kind() == reflect.Struct:
			f.kind, f.fields = kindObject, fieldsOfType(ft)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			f.kind, f.fields = kindObjects, fieldsOfType(ft.Elem())
		default:
			panic("facts: payload field " + t.Name() + "." + sf.Name + " has a type the fast decoders do not handle: " + ft.String())
		}
		out = append(out, f)
	}
	return out
}
