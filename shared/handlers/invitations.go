package handlers

import (
	"context"
	"net/http"
	"strings"

	"rollcall/shared/apperr"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
	"rollcall/shared/ids"
	"rollcall/shared/invitetoken"
)

// createInvitation answers POST /accounts/{accountId}/invitations (owner; R10, R11, R4).
func (a *API) createInvitation(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	var in domain.CreateInvitationInput
	var inv domain.Invitation
	if err := decode(r, &in, func() (err error) {
		inv, err = domain.NewUserInvitation(ids.New(ids.Invitation), acc, in, a.cfg.Catalog, r.Caller.Actor(), invitetoken.NewNonce(), a.now())
		return err
	}); err != nil {
		return nil, err
	}
	idem, err := idempotent(r, acc)
	if err != nil {
		return nil, err
	}
	if err := a.store.CreateInvitation(ctx, r.Caller, inv, idem, inv); err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusCreated, inv), nil
}

// listInvitations answers GET /accounts/{accountId}/invitations; ?status= filters.
func (a *API) listInvitations(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return nil, err
	}
	p, err := a.store.ListInvitations(ctx, r.Caller, acc, r.Query("status"), limit, cursor)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}

// resendInvitation answers POST /accounts/{accountId}/invitations/{invitationId}/resend (R14).
func (a *API) resendInvitation(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, id := path.Account, path.Invitation
	idem, err := idempotent(r, acc)
	if err != nil {
		return nil, err
	}
	// The body is optional: {"force": true} resends to an address that hard-bounced or complained.
	var in domain.ResendInput
	if strings.TrimSpace(string(r.Body)) != "" {
		if err := decode(r, &in, func() error { return nil }); err != nil {
			return nil, err
		}
	}
	inv, err := a.store.ResendInvitation(ctx, r.Caller, acc, id, in.Force, idem)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, inv), nil
}

// revokeInvitation answers DELETE /accounts/{accountId}/invitations/{invitationId} (R14).
func (a *API) revokeInvitation(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, id := path.Account, path.Invitation
	inv, err := a.store.RevokeInvitation(ctx, r.Caller, acc, id)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, inv), nil
}

// readToken decodes a {token} body.
func readToken(r *httpapi.Request) (string, error) {
	var in domain.TokenInput
	if err := r.Decode(&in); err != nil {
		return "", err
	}
	if in.Token == "" {
		return "", apperr.InvalidField("token", "is required")
	}
	return in.Token, nil
}

// lookupInvitation answers POST /invitations/lookup: what the token invites to.
func (a *API) lookupInvitation(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	token, err := readToken(r)
	if err != nil {
		return nil, err
	}
	signer, err := a.tokenSigner()
	if err != nil {
		return nil, err
	}
	v, err := a.store.LookupInvitation(ctx, signer, token)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, v), nil
}

// acceptInvitation answers POST /invitations/accept (R12): the caller's new membership. The
// caller must have a verified email (auth.Caller.Email), which the membership records and guards
// (R4): 403 email_not_verified otherwise.
func (a *API) acceptInvitation(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	token, err := readToken(r)
	if err != nil {
		return nil, err
	}
	if r.Caller.Email == "" {
		return nil, apperr.New(http.StatusForbidden, apperr.CodeEmailNotVerified,
			"accepting an invitation needs a login with a verified email address: verify it with the sign-in provider, then accept again")
	}
	signer, err := a.tokenSigner()
	if err != nil {
		return nil, err
	}
	idem, err := idempotent(r, "")
	if err != nil {
		return nil, err
	}
	u, err := a.store.AcceptInvitation(ctx, r.Caller, signer, token, idem)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusCreated, u), nil
}
