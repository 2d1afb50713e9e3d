// Package request turns an authenticated HTTP write into the metadata every
// event carries (ARCHITECTURE.md decision 6): the actor, the correlation id,
// the recording time and a deterministic event id for idempotent retries
// (api/contract.md, Conventions: same client id or Idempotency-Key → the
// original result, nothing written).
package request

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/command"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/httpapi"
)

// HeaderApp optionally names the client application (actor.app).
const HeaderApp = "X-Carelog-App"

var appPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._\-]{0,63}$`)

// Meta is the request's contribution to the events it produces.
type Meta struct {
	Actor          events.Actor
	CorrelationID  string
	IdempotencyKey string
	// Route is the request's method and path (with its ids): an
	// Idempotency-Key is scoped to it.
	Route      string
	RecordedAt time.Time
}

// FromEcho reads Meta from an authenticated request; now is the service
// clock's reading.
func FromEcho(c echo.Context, now time.Time) (Meta, error) {
	p, ok := auth.FromContext(c)
	if !ok {
		return Meta{}, errs.E("request.FromEcho", errs.Unauthorized, "")
	}
	key, err := httpapi.IdempotencyKey(c)
	if err != nil {
		return Meta{}, err
	}
	app := p.Name
	if h := c.Request().Header.Get(HeaderApp); h != "" {
		if !appPattern.MatchString(h) {
			return Meta{}, errs.Field("request.FromEcho", HeaderApp, "must be 1-64 letters, digits, spaces, '.', '_' or '-'")
		}
		app = h
	}
	return Meta{
		Actor:          events.Actor{ID: p.TokenID, Role: string(p.Role), App: app},
		CorrelationID:  httpapi.RequestIDOf(c),
		IdempotencyKey: key,
		Route:          c.Request().Method + " " + c.Request().URL.Path,
		RecordedAt:     now.UTC(),
	}, nil
}

// EventID returns the id of the event a write produces: prefix-clientID when
// the client chose the resource id (the id is the idempotency key), else
// derived from the Idempotency-Key header and the stream and route, else
// random (such a write is not idempotent; clients should send a key).
func (m Meta) EventID(prefix, stream, clientID string) string {
	switch {
	case clientID != "":
		return prefix + "-" + clientID
	case m.IdempotencyKey != "":
		h := sha256.Sum256([]byte(stream + "\x00" + m.Route + "\x00" + m.IdempotencyKey))
		return prefix + "-k" + hex.EncodeToString(h[:])[:32]
	}
	return prefix + "-" + RandomID()
}

// RandomID returns 26 random lowercase hex characters.
func RandomID() string {
	b := make([]byte, 13)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Event builds a proposed (unsealed) event of the latest registered version
// of typ with m's metadata.
func (m Meta) Event(id string, typ events.Type, stream, patientID string, occurredAt time.Time, payload any) (events.Envelope, error) {
	version := events.DefaultRegistry().Latest(typ)
	if version == 0 {
		return events.Envelope{}, errs.E("request.Event", errs.Internal, "event type %s is not in the catalogue", typ)
	}
	data, err := command.Payload(payload)
	if err != nil {
		return events.Envelope{}, err
	}
	if occurredAt.IsZero() {
		occurredAt = m.RecordedAt
	}
	return events.Envelope{
		ID: id, Type: typ, Version: version, Stream: stream, PatientID: patientID,
		OccurredAt: occurredAt, RecordedAt: m.RecordedAt,
		Actor: m.Actor, CorrelationID: m.CorrelationID, Data: data,
	}, nil
}

// Written answers a write: 201 with body for a new event, 200 for an
// idempotent replay.
func Written(c echo.Context, created bool, body any) error {
	if created {
		return c.JSON(http.StatusCreated, body)
	}
	return c.JSON(http.StatusOK, body)
}
