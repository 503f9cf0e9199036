package handlers

import (
	"context"
	"net/http"

	"rollcall/shared/apperr"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
	"rollcall/shared/ids"
)

// requireOperator refuses callers outside the operator group (403) before any body is read.
func requireOperator(r *httpapi.Request) error {
	if !r.Caller.Operator {
		return apperr.Forbidden("only an operator may do this")
	}
	return nil
}

// listSites answers GET /accounts/{accountId}/sites.
func (a *API) listSites(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return nil, err
	}
	p, err := a.store.ListSites(ctx, r.Caller, acc, limit, cursor)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}

// createSite answers POST /accounts/{accountId}/sites (operators; R20).
func (a *API) createSite(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	var in domain.CreateSiteInput
	var st domain.Site
	if err := decode(r, &in, func() (err error) {
		st, err = domain.NewSite(ids.New(ids.Site), acc, in)
		return err
	}); err != nil {
		return nil, err
	}
	idem, err := idempotent(r, acc)
	if err != nil {
		return nil, err
	}
	if err := a.store.CreateSite(ctx, r.Caller, st, idem, st); err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusCreated, st), nil
}

// listAudit answers GET /accounts/{accountId}/audit (R23), newest first.
func (a *API) listAudit(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return nil, err
	}
	p, err := a.store.ListAudit(ctx, r.Caller, acc, limit, cursor)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}
