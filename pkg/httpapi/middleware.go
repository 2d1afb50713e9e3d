package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/errs"
)

const (
	keyRequestID = "carelog.requestID"
	keyTokenID   = "carelog.tokenID"
	keyRole      = "carelog.role"
)

// RequestID returns middleware that gives every request an id: the
// client's X-Request-Id when it is 1 to 128 printable ASCII characters without
// spaces, otherwise a fresh random one. The id is echoed in the response's
// X-Request-Id header and available through RequestIDOf.
func RequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !validRequestID(id) {
				id = newRequestID()
			}
			c.Set(keyRequestID, id)
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

// RequestIDOf returns the request's id, or "" outside RequestID.
func RequestIDOf(c echo.Context) string {
	id, _ := c.Get(keyRequestID).(string)
	return id
}

func validRequestID(id string) bool {
	if len(id) < 1 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// SetCaller records who is calling (token id and role) for the access log.
// The authentication middleware calls it; nothing else should.
func SetCaller(c echo.Context, tokenID, role string) {
	c.Set(keyTokenID, tokenID)
	c.Set(keyRole, role)
}

// AccessLog returns middleware that logs one line per request through
// logger: method, route pattern, status, duration, request id, and the
// caller's token id and role (see SetCaller).
//
// PHI never appears in logs (ARCHITECTURE.md decision 8): the line names the
// route pattern (c.Path(), e.g. /v1/patients/:id), never the raw URL, whose
// path and query can hold patient identifiers, and never headers or bodies.
//
// An error returned by the handler is answered here, through echo's error
// handler, so that the logged status is the one the client got.
func AccessLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			tokenID, _ := c.Get(keyTokenID).(string)
			role, _ := c.Get(keyRole).(string)
			status := c.Response().Status
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelWarn
			}
			logger.LogAttrs(c.Request().Context(), level, "http request",
				slog.String("method", c.Request().Method),
				slog.String("route", routeOf(c)),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.String("request_id", RequestIDOf(c)),
				slog.String("token_id", tokenID),
				slog.String("role", role),
			)
			return nil
		}
	}
}

// routeOf is the matched route pattern, or "(unmatched)" for requests that
// matched no route: the raw path is never logged.
func routeOf(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "(unmatched)"
}

// Recover returns middleware that turns a panic in a handler into an
// internal error (logged by ErrorHandler with its stack; the client gets
// "internal error"). http.ErrAbortHandler is re-panicked, as net/http expects.
func Recover() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = errs.Wrap("httpapi.Recover", errs.Internal, fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
			}()
			return next(c)
		}
	}
}
