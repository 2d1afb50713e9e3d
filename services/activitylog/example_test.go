package activitylog_test

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

// Example_natsClient records a time entry from a clinical app over NATS
// (the README's example; compiled, not run).
func Example_natsClient() {
	token := os.Getenv("CARELOG_TOKEN") // a clinician token (POST /v1/tokens)
	nc, err := nats.Connect("nats://carelog.example.org:4222", nats.Token(token))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	body, _ := json.Marshal(map[string]any{
		"id":        "3f2a9c1e-7b4d-4c2a-9e1f-0d5b6a7c8e90", // the app's own id: retries are safe
		"patientId": "p-1",
		"staff":     map[string]any{"id": "rn-4", "name": "Rita Nurse", "role": "rn"},
		"programs":  []string{"ccm"},
		"startedAt": "2025-03-14T09:30:00-05:00",
		"minutes":   20,
		"activity":  "medication_reconciliation",
		"notes":     "Reconciled medication list after discharge; stopped duplicate lisinopril",
		"outcome":   "completed",
	})
	msg := nats.NewMsg("carelog.cmd.time-entries.record")
	msg.Header.Set("Authorization", "Bearer "+token)
	msg.Header.Set("X-Request-Id", "nurse-app-8812") // optional, for support
	msg.Data = body
	reply, err := nc.RequestMsg(msg, 10*time.Second)
	if err != nil {
		log.Fatal(err) // no answer: send the same message again, it is idempotent
	}
	switch status := reply.Header.Get("Carelog-Status"); status {
	case "201", "200": // stored now, or stored before (nothing written)
		var stored struct {
			Sequence uint64 `json:"sequence"`
			Late     bool   `json:"late"`
		}
		json.Unmarshal(reply.Data, &stored)
		fmt.Println("stored at", stored.Sequence, "late:", stored.Late)
	default: // {"error":{"code","message","field"}}: fix the field, do not retry as is
		var e struct {
			Error struct{ Code, Message, Field string }
		}
		json.Unmarshal(reply.Data, &e)
		fmt.Println(status, e.Error.Field, e.Error.Message)
	}
}
