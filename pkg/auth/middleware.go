package auth

import (
	"context"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/httpapi"
)

const principalKey = "carelog.principal"

type ctxKey struct{}

// Middleware returns echo middleware that requires "Authorization: Bearer
// <token>" on every request it wraps. Without a valid token it answers 401
// (errs.Unauthorized) with a WWW-Authenticate: Bearer challenge and never
// calls the handler. Otherwise the caller is available through FromContext
// (and PrincipalFrom on the request's context) and is named, by token id and
// role, in the access log.
func Middleware(store *Store) echo.MiddlewareFunc {
	const op = "auth.Middleware"
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, tok, _ := strings.Cut(h, " ")
			tok = strings.TrimSpace(tok)
			if h == "" || !strings.EqualFold(scheme, "Bearer") || tok == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Bearer")
				return errs.E(op, errs.Unauthorized, "send Authorization: Bearer <token>")
			}
			p, err := store.Authenticate(tok)
			if err != nil {
				if errs.KindOf(err) == errs.Unauthorized {
					c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer error="invalid_token"`)
				}
				return err
			}
			c.Set(principalKey, p)
			c.SetRequest(c.Request().WithContext(WithPrincipal(c.Request().Context(), p)))
			httpapi.SetCaller(c, p.TokenID, string(p.Role))
			return next(c)
		}
	}
}

// Require returns echo middleware, placed after Middleware, that lets only
// the given roles (and admin, always) through; others get 403
// (errs.Forbidden) naming the roles needed. A request that Middleware did not
// authenticate gets 401: the route fails closed.
func Require(roles ...Role) echo.MiddlewareFunc {
	const op = "auth.Require"
	allowed := roles
	if !slices.Contains(allowed, Admin) {
		allowed = append(allowed[:len(allowed):len(allowed)], Admin)
	}
	msg := "requires the role " + joinRoles(allowed, " or ")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := FromContext(c)
			if !ok {
				return &errs.Error{Op: op, Kind: errs.Unauthorized}
			}
			if !p.Allowed(roles...) {
				return errs.E(op, errs.Forbidden, "%s", msg)
			}
			return next(c)
		}
	}
}

// FromContext returns the caller Middleware authenticated.
func FromContext(c echo.Context) (Principal, bool) {
	p, ok := c.Get(principalKey).(Principal)
	return p, ok
}

// WithPrincipal returns ctx carrying p, for code below the HTTP handler
// (and NATS command handlers) that records who acted.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// PrincipalFrom returns the caller carried by ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
