package auth

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/openapi"
)

// Routes mounts the token administration API (api/contract.md,
// Administration) on g, which the caller mounts at /v1 behind Middleware.
// Every route is admin only:
//
//	POST   /tokens      {role, name} → 201 {id, name, role, createdAt, token}
//	GET    /tokens      → 200 {tokens: [{id, name, role, createdAt, lastUsedAt, revokedAt?}]}
//	DELETE /tokens/:id  → 204, revoked at once; 404 for an unknown id
//
// Creating a token is not idempotent (an Idempotency-Key is ignored): a
// replay could not return the secret, which is not kept.
func Routes(g *echo.Group, spec *openapi.Spec, store *Store) {
	h := handlers{store: store}
	admin := Require(Admin)
	roles := []string{string(Admin)}
	spec.Handle(g, http.MethodPost, "/tokens", h.create, openapi.Op{Summary: "Create an API token; the secret is shown once", Roles: roles, Request: createRequest{}, Response: Token{}, Status: http.StatusCreated}, admin)
	spec.Handle(g, http.MethodGet, "/tokens", h.list, openapi.Op{Summary: "List API tokens (never their secrets)", Roles: roles, Response: listResponse{}}, admin)
	spec.Handle(g, http.MethodDelete, "/tokens/:id", h.revoke, openapi.Op{Summary: "Revoke an API token at once", Roles: roles, Status: http.StatusNoContent}, admin)
}

type handlers struct{ store *Store }

type createRequest struct {
	Role Role   `json:"role"`
	Name string `json:"name"`
}

func (h handlers) create(c echo.Context) error {
	var req createRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	tok, err := h.store.Create(c.Request().Context(), req.Role, req.Name)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store") // the secret must not be cached
	return httpapi.WriteCreated(c, tok)
}

type listResponse struct {
	Tokens []Record `json:"tokens"`
}

func (h handlers) list(c echo.Context) error {
	recs, err := h.store.List(c.Request().Context())
	if err != nil {
		return err
	}
	return httpapi.WriteOK(c, listResponse{Tokens: recs})
}

func (h handlers) revoke(c echo.Context) error {
	if err := h.store.Revoke(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
