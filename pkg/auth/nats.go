package auth

import (
	"github.com/nats-io/nats-server/v2/server"

	"github.com/carelog/carelog/pkg/natsserver"
)

// Subjects a non-admin NATS client may use.
const (
	// CommandSubjects are the command requests clinical apps may publish
	// (api/contract.md: carelog.cmd.<resource>.<action>).
	CommandSubjects = "carelog.cmd.>"
	// InboxSubjects receive the replies to those requests.
	InboxSubjects = "_INBOX.>"
)

// NATSAuthenticator lets network NATS clients present a Carelog token as
// their NATS token (nats.Token). Admin tokens get every subject. Other roles
// may publish only to carelog.cmd.> and subscribe only to _INBOX.>: they can
// send commands and read the replies, but cannot read or write the event log
// or the JetStream API directly. Which role may send which command is for the
// command's handler to check.
//
// NATS checks the token when the client connects: revoking a token refuses
// its next connection, not one already open.
//
// The embedded server needs its authenticator before the store (which needs
// the server) exists; main can bridge that with an atomic pointer that the
// authenticator reads, refusing clients until the store is set.
func NATSAuthenticator(store *Store) natsserver.Authenticator {
	return func(token string) (string, *natsserver.Permissions, bool) {
		p, err := store.Authenticate(token)
		if err != nil {
			return "", nil, false
		}
		name := "carelog-token-" + p.TokenID
		if p.Role == Admin {
			return name, nil, true
		}
		// A fresh value per client: the server keeps what it is given.
		return name, &natsserver.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{CommandSubjects}},
			Subscribe: &server.SubjectPermission{Allow: []string{InboxSubjects}},
		}, true
	}
}
