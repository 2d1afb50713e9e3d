package jetstream

import (
	"strings"
	"testing"
)

// streamSequence reads the stream sequence where jetstream.Msg.Metadata
// does, in both reply subject layouts, and refuses anything else.
func TestStreamSequence(t *testing.T) {
	for _, tc := range []struct {
		reply   string
		want    uint64
		wantErr string
	}{
		{reply: "$JS.ACK.CARELOG.c1.1.42.7.1700000000000000000.3", want: 42},
		{reply: "$JS.ACK._.ACCHASH.CARELOG.c1.1.42.7.1700000000000000000.3.tok", want: 42},
		{reply: "$JS.ACK.dom.ACCHASH.CARELOG.c1.2.18446744073709551615.7.1700000000000000000.0", want: 18446744073709551615},
		{reply: "$JS.ACK.hub.H.S.C.1.9.9.1.0.tok.more", want: 9},
		{reply: "", wantErr: "not a $JS.ACK subject"},
		{reply: "_INBOX.abc.def.1.2.3.4.5.6", wantErr: "not a $JS.ACK subject"},
		{reply: "$JS.ACK.S.C.1.42.7.1", wantErr: "has 8 tokens"},
		{reply: "$JS.ACK.D.H.S.C.1.42.7.1", wantErr: "has 10 tokens"},
		{reply: "$JS.ACK.CARELOG.c1.1.x42.7.1.3", wantErr: `stream sequence "x42"`},
		{reply: "$JS.ACK.CARELOG.c1.1.0.7.1.3", wantErr: `stream sequence "0"`},
		{reply: "$JS.ACK._.H.CARELOG.c1.1.-1.7.1.3.tok", wantErr: `stream sequence "-1"`},
	} {
		got, err := streamSequence(tc.reply)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("streamSequence(%q) = %d, %v; want an error containing %q", tc.reply, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("streamSequence(%q) = %d, %v; want %d", tc.reply, got, err, tc.want)
		}
	}
}
