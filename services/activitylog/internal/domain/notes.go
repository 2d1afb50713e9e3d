package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carelog/carelog/pkg/errs"
)

// SeedRule is the documentation rule the notes check enforces, quoted in
// every refusal so that the person at the keyboard learns why.
const SeedRule = "You must document who provided the service, what was done, and exact time spent. Vague notes like “CCM call – 20 minutes” won’t cut it."

// notesRule is the rule reported for notes that do not say what was done.
const notesRule = `must say what was done, not only the program and the minutes: "` + SeedRule + `"`

// restatingPhrases restate the program or the contact instead of saying
// what was done (api/contract.md refuses notes that only restate the program
// and the minutes; an activity's name, "medication reconciliation", does say
// what was done). Phrases are matched as
// whole words after normalization (lower case, punctuation as spaces),
// longest first.
var restatingPhrases = []string{
	// program names (contract program tags and their long forms)
	"advanced primary care management", "chronic care management", "principal care management",
	"transitional care management", "remote patient monitoring", "remote physiologic monitoring",
	"behavioral health integration", "collaborative care", "care management", "care mgmt",
	// contact
	"check in", "follow up call",
}

// fillerWords say nothing about what was done: program tags, time units,
// contact words and common function words.
var fillerWords = wordSet(
	// programs and codes
	"ccm", "pcm", "tcm", "rpm", "bhi", "apcm", "cocm", "g0506", "cpt", "hcpcs", "code", "codes",
	"chronic", "principal", "transitional", "program", "programs", "care", "management", "mgmt",
	"service", "services", "billing", "billable", "bill", "billed",
	// time
	"time", "times", "timed", "spent", "spend", "spending", "total", "totals", "duration",
	"m", "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "sec", "secs", "second", "seconds", "pm",
	"monthly", "month", "weekly", "daily", "today", "yesterday",
	// contact
	"call", "calls", "called", "calling", "phone", "phoned", "telephone", "telephonic", "tel", "tele",
	"video", "virtual", "session", "sessions", "contact", "contacted", "spoke", "spoken", "speak",
	"talk", "talked", "talking", "chat", "chatted", "checkin", "patient", "patients", "pt", "pts",
	"done", "complete", "completed", "performed", "provided", "provide", "routine", "general",
	"standard", "regular", "usual", "documented", "documentation", "document", "note", "notes", "entry",
	// function words
	"a", "an", "the", "and", "or", "but", "nor", "with", "w", "for", "to", "of", "on", "in", "at", "by",
	"from", "re", "regarding", "about", "as", "is", "was", "were", "are", "be", "been", "being", "am",
	"this", "that", "these", "those", "it", "its", "per", "via", "his", "her", "hers", "him", "he", "she",
	"they", "them", "their", "we", "us", "our", "i", "me", "my", "you", "your", "has", "had", "have",
	"did", "do", "does", "will", "would", "can", "could", "should", "also", "then", "than", "so", "too",
	"very", "just", "ok", "okay", "yes", "etc", "all", "any", "some", "other", "up", "s", "x", "na",
)

func wordSet(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// timeUnits are the suffixes of a number+unit token ("20m", "15min").
var timeUnits = []string{"minutes", "minute", "mins", "min", "m", "hours", "hour", "hrs", "hr", "h", "secs", "sec", "s"}

// MeaningfulWords returns the distinct words of notes that say something
// beyond the program, the minutes and the contact: what remains after
// removing program names, numbers and
// number+unit tokens ("20", "20m", "0:20"), and filler words ("call",
// "spent", "patient", "with"). Order is first appearance.
func MeaningfulWords(notes string) []string {
	norm := normalize(notes)
	padded := " " + norm + " "
	for _, p := range restatingPhrases {
		padded = strings.ReplaceAll(padded, " "+p+" ", "  ")
	}
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.Fields(padded) {
		if fillerWords[w] || seen[w] || isNumberToken(w) {
			continue
		}
		if utf8.RuneCountInString(w) < 2 {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// normalize lower-cases s and turns every rune that is not a letter or digit
// into a space ("check-in" → "check in", "0:20" → "0 20").
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// isNumberToken reports whether w is a number, or a number followed by a
// time unit.
func isNumberToken(w string) bool {
	i := strings.IndexFunc(w, func(r rune) bool { return !unicode.IsDigit(r) })
	if i == 0 {
		return false
	}
	if i < 0 {
		return true
	}
	for _, u := range timeUnits {
		if w[i:] == u {
			return true
		}
	}
	return false
}

// checkNotes enforces the documentation rule of ccm-rules.md §6.1 and the
// seed: notes must say what was done. It refuses notes shorter than
// NotesMinChars and notes with fewer than NotesMinWords meaningful words
// (MeaningfulWords), quoting the rule.
func (r Rules) checkNotes(notes string) error {
	const op = "activitylog.notes"
	if err := checkText("notes", notes, MaxNotes); err != nil {
		if strings.TrimSpace(notes) == "" {
			return errs.Field(op, "notes", "are required and %s", notesRule)
		}
		return err
	}
	if utf8.RuneCountInString(strings.TrimSpace(notes)) < r.NotesMinChars {
		return errs.Field(op, "notes", "must be at least %d characters and %s", r.NotesMinChars, notesRule)
	}
	if len(MeaningfulWords(notes)) < r.NotesMinWords {
		return errs.Field(op, "notes", "%s", notesRule)
	}
	return nil
}
