package accesslog

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
)

// An atomic batch is stored when acknowledged, or when the server refuses it
// as a duplicate (an earlier attempt of the same records was stored: record
// ids are unique); any other refusal or a lost reply is retried.
func TestCommitResult(t *testing.T) {
	for _, c := range []struct {
		name   string
		reply  string
		err    error
		stored bool
	}{
		{"acknowledged", `{"stream":"CARELOG_ACCESS","seq":42,"batch":"b","count":3}`, nil, true},
		{"retry of a stored batch", `{"error":{"code":400,"err_code":10201,"description":"atomic publish batch contains duplicate message id"}}`, nil, true},
		{"refused", `{"error":{"code":400,"err_code":10174,"description":"atomic publish is disabled"}}`, nil, false},
		{"no reply", ``, errors.New("nats: timeout"), false},
		{"garbled reply", `not json`, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var reply *nats.Msg
			if c.err == nil {
				reply = &nats.Msg{Data: []byte(c.reply)}
			}
			if err := commitResult(reply, c.err); (err == nil) != c.stored {
				t.Errorf("got %v, want stored %v", err, c.stored)
			}
		})
	}
}
