package handlers

import (
	"context"
	"encoding/json"
	"net/http"

	"rollcall/shared/apperr"
	"rollcall/shared/contract"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
	"rollcall/shared/ids"
	"rollcall/shared/store"
)

// listSiteContacts answers GET /accounts/{accountId}/sites/{siteId}/contacts: the site's related
// contacts with their roles (R21), paginated.
func (a *API) listSiteContacts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, site := path.Account, path.Site
	limit, cursor, err := page(r)
	if err != nil {
		return nil, err
	}
	p, err := a.store.ListSiteContacts(ctx, r.Caller, acc, site, limit, cursor)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}

// putRelationship answers PUT /accounts/{accountId}/sites/{siteId}/contacts/{contactId} with
// body {roles} (R21, R22): 201 with the relationship when it creates it, 200 when it changes it
// (or it had those roles already). The roles replace the relationship's current ones.
func (a *API) putRelationship(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, site, contact := path.Account, path.Site, path.Contact
	var in domain.RelationshipInput
	var roles []string
	if err := decode(r, &in, func() (err error) {
		roles, err = domain.RelationshipRoles("roles", in.Roles, a.cfg.Catalog)
		return err
	}); err != nil {
		return nil, err
	}
	res, err := a.store.PutRelationship(ctx, r.Caller, acc, site, contact, roles, a.cfg.WelcomePermissions)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(putStatus(res.Created), res.Relationship), nil
}

func putStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// deleteRelationship answers DELETE /accounts/{accountId}/sites/{siteId}/contacts/{contactId}:
// 204 once the relationship is removed.
func (a *API) deleteRelationship(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, site, contact := path.Account, path.Site, path.Contact
	if err := a.store.DeleteRelationship(ctx, r.Caller, acc, site, contact); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}

// batchPutRelationships answers POST /accounts/{accountId}/sites/{siteId}/contacts/batch with
// body {items: [{contactId, roles}]} (R21, "Save & New"): each row is a PUT of that contact's
// relationship with the site and succeeds or fails on its own; the answer lists the outcomes in
// order (201 created, 200 changed, or the problem). Rows are applied one after another in order,
// so a later row sees the earlier ones: [{A, [Secondary]}, {B, [Primary]}] moves Primary from A
// to B in one request (each row commits on its own). Idempotency-Key is honoured for the whole
// batch.
func (a *API) batchPutRelationships(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, site := path.Account, path.Site
	var in contract.Batch[domain.RelationshipRow]
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	rows, err := in.Rows()
	if err != nil {
		return nil, err
	}
	idem, err := idempotent(r, acc)
	if err != nil {
		return nil, err
	}
	status, body, err := a.store.Idempotent(ctx, idem, func() error {
		return a.store.CheckSiteWriter(ctx, r.Caller, acc, site)
	}, func() (int, any, error) {
		results := make([]contract.Result[domain.Relationship], len(rows))
		forRows(len(rows), func(i int) {
			res, err := a.putRow(ctx, r, acc, site, rows[i])
			if err != nil {
				results[i] = rowError[domain.Relationship](err) // a fault is this row's 500; the other rows go on (R21)
				return
			}
			results[i] = contract.Result[domain.Relationship]{Status: putStatus(res.Created), Item: &res.Relationship}
		})
		return http.StatusOK, contract.Results[domain.Relationship]{Results: results}, nil
	})
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(status, body), nil
}

// putRow validates and applies one row of a relationship batch.
func (a *API) putRow(ctx context.Context, r *httpapi.Request, acc, site string, row json.RawMessage) (store.RelationshipResult, error) {
	var in domain.RelationshipRow
	if err := httpapi.DecodeStrict(row, &in); err != nil {
		return store.RelationshipResult{}, err
	}
	var p domain.Problems
	switch {
	case in.ContactID == "":
		p.Add("contactId", "is required")
	case !ids.Valid(ids.Contact, in.ContactID):
		p.Add("contactId", "must be a contact id")
	}
	roles, err := domain.RelationshipRoles("roles", in.Roles, a.cfg.Catalog)
	if e, ok := apperr.As(err); ok {
		p = append(p, e.Fields...)
	}
	if err := p.Err(); err != nil {
		return store.RelationshipResult{}, err
	}
	return a.store.PutRelationship(ctx, r.Caller, acc, site, in.ContactID, roles, a.cfg.WelcomePermissions)
}
