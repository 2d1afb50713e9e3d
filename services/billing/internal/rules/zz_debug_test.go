package rules

import (
	"encoding/json"
	"os"
	"testing"
)

func TestZZDump(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		return
	}
	set := loadScenarios(t, scenarioFile)
	for _, c := range scenarioCases(t, set) {
		if c.name != os.Getenv("DUMP") && os.Getenv("DUMP") != "all" {
			continue
		}
		ev := Evaluate(c.facts(t))
		b, _ := json.Marshal(ev)
		t.Logf("%s: %s", c.name, b)
	}
}
