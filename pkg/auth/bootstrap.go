package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// BootstrapName names the admin token Bootstrap creates.
const BootstrapName = "bootstrap-admin"

// Bootstrap makes sure an admin can sign in (api/contract.md, Conventions):
// when the store has no usable admin token and no static admin token is
// configured, it creates one named "bootstrap-admin" and prints it to stdout,
// once; the secret is not kept anywhere else. When an admin exists it does
// and prints nothing, so it is safe on every start. Two processes starting
// at the same moment on an empty bucket may each create (and print) one.
func Bootstrap(ctx context.Context, store *Store, stdout io.Writer) error {
	if store.HasAdmin() {
		return nil
	}
	tok, err := store.Create(ctx, Admin, BootstrapName)
	if err != nil {
		return fmt.Errorf("auth.Bootstrap: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "Carelog admin token (shown once, store it now): %s\n", tok.Bearer); err != nil {
		// Nobody saw it: revoke it, so the next start makes another.
		return errors.Join(fmt.Errorf("auth.Bootstrap: printing the admin token: %w", err), store.Revoke(ctx, tok.ID))
	}
	return nil
}
