package handlers

import (
	"context"
	"net/http"

	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
	"rollcall/shared/ids"
	"rollcall/shared/invitetoken"
	"rollcall/shared/store"
)

// getCatalog answers GET /catalog: the stage's roles, permissions and email types.
func (a *API) getCatalog(_ context.Context, _ *httpapi.Request) (*httpapi.Response, error) {
	return httpapi.JSON(http.StatusOK, a.cfg.Catalog), nil
}

// listMyAccounts answers GET /me/accounts (R6).
func (a *API) listMyAccounts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	limit, cursor, err := page(r)
	if err != nil {
		return nil, err
	}
	p, err := a.store.ListMyAccounts(ctx, r.Caller, limit, cursor)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}

// createAccount answers POST /accounts (operators; R1, R2, R20): the account, its main site and
// the owner invitation.
func (a *API) createAccount(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if err := requireOperator(r); err != nil {
		return nil, err
	}
	var in domain.CreateAccountInput
	now := a.now()
	var acc domain.Account
	if err := decode(r, &in, func() (err error) {
		acc, err = domain.NewAccount(ids.New(ids.Account), in, a.cfg.Catalog, now)
		return err
	}); err != nil {
		return nil, err
	}
	idem, err := idempotent(r, "")
	if err != nil {
		return nil, err
	}
	site := domain.Site{ID: ids.New(ids.Site), AccountID: acc.ID, Name: domain.MainSiteName(acc), Main: true}
	inv := domain.NewOwnerInvitation(ids.New(ids.Invitation), acc, r.Caller.Actor(), invitetoken.NewNonce(), now)
	if err := a.store.CreateAccount(ctx, r.Caller, store.NewAccount{Account: acc, MainSite: site, Invitation: inv}, idem, acc); err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusCreated, acc).WithETag(acc.Version), nil
}

// listAccounts answers GET /accounts (operators): accounts by name, ?prefix= filters by name.
func (a *API) listAccounts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if err := requireOperator(r); err != nil {
		return nil, err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return nil, err
	}
	p, err := a.store.ListAccounts(ctx, r.Caller, r.Query("prefix"), limit, cursor)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}

// getAccount answers GET /accounts/{accountId} (members).
func (a *API) getAccount(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := accountID(r)
	if err != nil {
		return nil, err
	}
	acc, err := a.store.GetAccount(ctx, r.Caller, id)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, acc).WithETag(acc.Version), nil
}

// updateAccount answers PATCH /accounts/{accountId} (owner; name, type, legacy id: operators).
func (a *API) updateAccount(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := accountID(r)
	if err != nil {
		return nil, err
	}
	var in domain.UpdateAccountInput
	if err := decode(r, &in, func() error { return domain.CheckAccountUpdate(in, a.cfg.Catalog) }); err != nil {
		return nil, err
	}
	ifMatch, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	acc, err := a.store.UpdateAccount(ctx, r.Caller, id, in, ifMatch)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, acc).WithETag(acc.Version), nil
}
