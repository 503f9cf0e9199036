package handlers

import (
	"context"
	"net/http"

	"rollcall/shared/httpapi"
)

// grantAdmin answers PUT /accounts/{accountId}/users/{userId}/admin (operators; R9): 200 with the
// user, now an admin. 409 not_admin_eligible when the user's linked contact holds no
// admin-eligible role on a site of the account.
func (a *API) grantAdmin(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, sub := path.Account, path.User
	u, err := a.store.GrantAdmin(ctx, r.Caller, acc, sub)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, u), nil
}

// revokeAdmin answers DELETE /accounts/{accountId}/users/{userId}/admin (operators; R9): 200 with
// the user, no longer an admin.
func (a *API) revokeAdmin(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, sub := path.Account, path.User
	u, err := a.store.RevokeAdmin(ctx, r.Caller, acc, sub)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, u), nil
}
