// Package httpapi holds the HTTP conventions every Carelog service shares
// (api/contract.md, Conventions): one error shape, strict JSON request
// bodies, the Idempotency-Key header, request ids and the access log.
//
// Contracts:
//   - Every error leaves as {"error":{"code","message","field"}} through
//     ErrorHandler, whose code is the errs.Kind. Status codes: invalid 400
//     (always 400, never 422: whether a bad value is "malformed" or "breaks a
//     rule" is not something every service can decide the same way, so clients
//     switch on code, not on 400 versus 422), unauthorized 401, forbidden 403,
//     not_found 404, conflict 409, unavailable 503, internal 500. echo's own
//     errors keep their HTTP status (404 unknown route, 405, 413) with the
//     nearest code (not_found, invalid).
//   - Callers never see internal details: internal errors are logged with the
//     request id and answered with "internal error".
//   - PHI never appears in logs (ARCHITECTURE.md decision 8): the access log
//     and the error log carry the route pattern, never the raw URL, query
//     string, headers or body.
//   - Bind accepts exactly one JSON value of the documented shape: unknown
//     fields, wrong types, trailing data, an empty body and bodies over the
//     limit are Invalid errors naming the field where there is one.
package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/errs"
)

// NewEcho returns an echo instance wired with Carelog's conventions:
// ErrorHandler, RequestID, AccessLog and Recover, in that order, and no
// banner. Services mount their routes on it (or on a group of it).
func NewEcho(logger *slog.Logger) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = ErrorHandler(logger)
	e.Use(RequestID(), AccessLog(logger), Recover())
	return e
}

// ErrorBody is the contract's error shape.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody. Field is omitted when the error
// concerns no single field.
type ErrorDetail struct {
	Code    errs.Kind `json:"code"`
	Message string    `json:"message"`
	Field   string    `json:"field,omitempty"`
}

// StatusOf returns the HTTP status for an error kind.
func StatusOf(k errs.Kind) int {
	switch k {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorHandler returns echo's central error handler for Carelog: it maps err
// to the contract's shape and status (see the package doc) and logs internal
// and unavailable errors with their operation, cause and the request id,
// never the request's URL or body. It writes nothing when the response is
// already committed.
func ErrorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, body := errorResponse(err)
		switch body.Error.Code {
		case errs.Internal, errs.Unavailable:
			level := slog.LevelError
			if body.Error.Code == errs.Unavailable {
				level = slog.LevelWarn
			}
			var op string
			var e *errs.Error
			if errors.As(err, &e) {
				op = e.Op
			}
			logger.LogAttrs(c.Request().Context(), level, "request failed",
				slog.String("request_id", RequestIDOf(c)),
				slog.String("method", c.Request().Method),
				slog.String("route", routeOf(c)),
				slog.Int("status", status),
				slog.String("op", op),
				slog.String("err", err.Error()),
			)
		case errs.Unauthorized:
			if c.Response().Header().Get(echo.HeaderWWWAuthenticate) == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Bearer")
			}
		}
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(status)
		} else {
			werr = c.JSON(status, body)
		}
		if werr != nil {
			logger.LogAttrs(c.Request().Context(), slog.LevelWarn, "writing error response",
				slog.String("request_id", RequestIDOf(c)), slog.String("err", werr.Error()))
		}
	}
}

// errorResponse maps err to a status and body. echo's own *HTTPError
// (unknown route, method not allowed, body limit) keeps its status.
func errorResponse(err error) (int, ErrorBody) {
	var he *echo.HTTPError
	var ce *errs.Error
	if errors.As(err, &he) && !errors.As(err, &ce) {
		return he.Code, ErrorBody{Error: ErrorDetail{Code: kindOfStatus(he.Code), Message: httpErrorMessage(he)}}
	}
	k, field, msg := errs.Public(err)
	return StatusOf(k), ErrorBody{Error: ErrorDetail{Code: k, Message: msg, Field: field}}
}

func kindOfStatus(status int) errs.Kind {
	switch {
	case status == http.StatusNotFound:
		return errs.NotFound
	case status == http.StatusUnauthorized:
		return errs.Unauthorized
	case status == http.StatusForbidden:
		return errs.Forbidden
	case status == http.StatusConflict:
		return errs.Conflict
	case status == http.StatusServiceUnavailable:
		return errs.Unavailable
	case status >= 400 && status < 500:
		return errs.Invalid
	}
	return errs.Internal
}

func httpErrorMessage(he *echo.HTTPError) string {
	if he.Code >= 500 {
		return "internal error"
	}
	if m, ok := he.Message.(string); ok && m != "" {
		return strings.ToLower(m)
	}
	return strings.ToLower(http.StatusText(he.Code))
}

// WriteCreated answers a write that stored something new: 201 and v.
func WriteCreated(c echo.Context, v any) error { return c.JSON(http.StatusCreated, v) }

// WriteOK answers a read, or a write replayed with the same client id or
// Idempotency-Key (which returns the original result and writes nothing): 200
// and v.
func WriteOK(c echo.Context, v any) error { return c.JSON(http.StatusOK, v) }
