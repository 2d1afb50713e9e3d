package facts

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/services/billing/rules"
)

const samplePayload = `{"id":"e-123456","patientId":"p-12345","staff":{"id":"rn-4","name":"Jo Smith","role":"rn"},"programs":["ccm"],"startedAt":"2025-03-04T10:00:00-05:00","minutes":11,"activity":"medication_reconciliation","notes":"Reviewed home glucose log with patient and adjusted diet plan","outcome":"completed"}`

// fastEntry is the fast path: the payload decoded, packed and unpacked.
func fastEntry(data []byte) (rules.TimeEntry, bool) {
	var d entryDraft
	if !d.decode(data) {
		return rules.TimeEntry{}, false
	}
	en := d.pack("", d.startedAt, time.Time{}, d.minutes, 0, 0)
	return en.unpack(), true
}

// slowEntry is the reference: encoding/json, then entryOf.
func slowEntry(data []byte) (rules.TimeEntry, bool) {
	var e events.TimeEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return rules.TimeEntry{}, false
	}
	return entryOf(e), true
}

// TestDecodeEntryFastMatchesEncodingJSON: whenever the fast path decides,
// it decides as encoding/json does; on the plain form the services write it
// always decides.
func TestDecodeEntryFastMatchesEncodingJSON(t *testing.T) {
	payloads := []string{
		samplePayload,
		`{}`,
		` { "id" : "a" , "minutes" : 0 , "programs" : [ ] } `,
		`{"id":"a","programs":["tcm","ccm","rpm"],"minutes":-3,"staff":{"id":"x","npi":"1234567893","role":"physician","name":"Dr. Ünïcode ✓"}}`,
		`{"id":"a","programs":["zzz"],"sessionId":"s","encounterId":"v","endedAt":"2025-03-04T10:20:00Z","notes":"a \"quoted\" note \u0026 more"}`,
		`{"id":"a","extra":{"nested":[1,2.5e3,true,false,"x",{"y":[]}]},"minutes":5}`,
		`{"ID":"a"}`,
		`{"id":"a","Minutes":5}`,
		`{"id":null}`,
		`{"id":"a","minutes":1.5}`,
		`{"id":"a","minutes":"5"}`,
		`{"id":"a","minutes":012}`,
		`{"id":"a\u0041"}`,
		`{"id":"a"}x`,
		`{"id":"a",}`,
		`{"id":"a" "minutes":1}`,
		`{"startedAt":"2025-13-04T10:00:00Z"}`,
		`{"startedAt":"2025-03-04T10:00:00.123456789+05:30"}`,
		`{"startedAt":12}`,
		`{"id":"a","id":"b","staff":{"id":"1"},"staff":{"name":"n"}}`,
		`{"programs":["ccm"],"programs":["pcm","ccm"]}`,
		"{\"id\":\"a\tb\"}",
		"{\"id\":\"\xff\"}",
		`{"notes":"\x"}`,
		`[]`,
		``,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	plain := []string{"a", "Z", "0", " ", "-", "é", "✓", "/", ".", "_"}
	special := append([]string{"\"", "\\", "<", "&", "\n", "\u2028"}, plain...)
	var alphabet []string
	randString := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := range 600 {
		alphabet = plain
		if i%3 == 0 {
			alphabet = special
		}
		e := events.TimeEntry{
			ID: randString(), PatientID: randString(),
			Staff:    events.Staff{ID: randString(), Name: randString(), Role: []string{"rn", "ma", "physician", randString()}[rng.IntN(4)], NPI: randString()},
			Programs: [][]string{nil, {}, {"ccm"}, {"tcm", "ccm"}, {randString()}}[rng.IntN(5)],
			StartedAt: time.Date(2020+rng.IntN(6), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), 0, rng.IntN(2)*1e6,
				time.FixedZone("", (rng.IntN(28)-14)*1800)),
			Minutes: rng.IntN(600) - 50, Activity: randString(), Notes: randString(), Outcome: randString(),
			SessionID: randString(), EncounterID: randString(),
		}
		if rng.IntN(2) == 0 {
			end := e.StartedAt.Add(time.Hour)
			e.EndedAt = &end
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, string(b))
	}
	decided := 0
	for i, p := range payloads {
		want, wantOK := slowEntry([]byte(p))
		got, ok := fastEntry([]byte(p))
		if !ok {
			continue
		}
		decided++
		if !wantOK {
			t.Errorf("payload %d %q: fast path decoded %+v, encoding/json fails", i, p, got)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("payload %d %q:\n got %+v\nwant %+v", i, p, got, want)
		}
	}
	if _, ok := fastEntry([]byte(samplePayload)); !ok {
		t.Error("the plain payload: fast path declined, want it decided")
	}
	if decided < 100 {
		t.Errorf("fast path decided %d of %d payloads, want most", decided, len(payloads))
	}
	t.Logf("fast path decided %d of %d payloads", decided, len(payloads))
}

func BenchmarkDecodeTimeEntry(b *testing.B) {
	data := []byte(samplePayload)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			var d entryDraft
			if !d.decode(data) {
				b.Fatal("declined")
			}
			_ = d.pack("ev-1", d.startedAt, time.Time{}, d.minutes, 0, 1)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, ok := slowEntry(data); !ok {
				b.Fatal(fmt.Errorf("decode failed"))
			}
		}
	})
}
