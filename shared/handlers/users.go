package handlers

import (
	"context"
	"net/http"
	"strings"

	"rollcall/shared/apperr"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
)

// listUsers answers GET /accounts/{accountId}/users (owner; R7).
func (a *API) listUsers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return nil, err
	}
	p, err := a.store.ListUsers(ctx, r.Caller, acc, limit, cursor)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}

// getUser answers GET /accounts/{accountId}/users/{userId} (owner).
func (a *API) getUser(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, sub := path.Account, path.User
	u, err := a.store.GetUser(ctx, r.Caller, acc, sub)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, u), nil
}

// updateUser answers PATCH /accounts/{accountId}/users/{userId}: a user's permissions (R8),
// never the owner's.
func (a *API) updateUser(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, sub := path.Account, path.User
	var in domain.UpdateUserInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	// Memberships have no version and reads give no ETag: an If-Match can match nothing.
	if m := strings.TrimSpace(r.Header("If-Match")); m != "" && m != "*" {
		return nil, apperr.PreconditionFailed()
	}
	var p domain.Problems
	if in.Permissions == nil {
		p.Add("permissions", "is required (it may be empty)")
	}
	perms := p.Permissions("permissions", in.Permissions, a.cfg.Catalog)
	if err := p.Err(); err != nil {
		return nil, err
	}
	u, err := a.store.UpdateUserPermissions(ctx, r.Caller, acc, sub, perms)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, u), nil
}

// removeUser answers DELETE /accounts/{accountId}/users/{userId}, never the owner.
func (a *API) removeUser(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, sub := path.Account, path.User
	if err := a.store.RemoveUser(ctx, r.Caller, acc, sub); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}

// transferOwnership answers POST /accounts/{accountId}/ownership (owner or operator; R5).
func (a *API) transferOwnership(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	var in domain.TransferInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if !validUserID(in.UserID) {
		return nil, apperr.InvalidField("userId", "must be a user's id (1 to 255 characters)")
	}
	idem, err := idempotent(r, acc)
	if err != nil {
		return nil, err
	}
	account, err := a.store.TransferOwnership(ctx, r.Caller, acc, in.UserID, idem)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, account).WithETag(account.Version), nil
}
