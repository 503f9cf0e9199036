package handlers

import (
	"context"
	"encoding/json"
	"net/http"

	"rollcall/shared/apperr"
	"rollcall/shared/catalog"
	"rollcall/shared/contract"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
	"rollcall/shared/ids"
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
// order (201 created, 200 changed, or the problem). Each row sees the rows before it that it can
// meet: rows of one contact, and rows that take or give up the same unique-per-site role (its
// holder as the batch's first read found it, or a row asking for it), run one after another in
// request order, so [{A, [Secondary]}, {B, [Primary]}] moves Primary from A to B in one request
// (each row commits on its own); the other rows run in parallel (forRows). Idempotency-Key is
// honoured for the whole batch.
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
	var holders map[string]string // unique role → the contact holding it before the batch
	status, body, err := a.store.Idempotent(ctx, idem, func() error {
		var err error
		holders, err = a.store.CheckSiteWriter(ctx, r.Caller, acc, site)
		return err
	}, func() (int, any, error) {
		results := make([]contract.Result[domain.Relationship], len(rows))
		valid := make([]domain.RelationshipRow, 0, len(rows))
		at := make([]int, 0, len(rows)) // valid[j] is row at[j]
		for i, row := range rows {
			in, err := a.relationshipRow(row)
			if err != nil {
				results[i] = rowError[domain.Relationship](err)
				continue
			}
			valid = append(valid, in)
			at = append(at, i)
		}
		forRows(ctx, len(valid), func(j int) []string {
			return relationshipRowKeys(valid[j], holders, a.cfg.Catalog)
		}, func(ctx context.Context, j int) {
			res, err := a.store.PutRelationship(ctx, r.Caller, acc, site, valid[j].ContactID, valid[j].Roles, a.cfg.WelcomePermissions)
			if err != nil {
				results[at[j]] = rowError[domain.Relationship](err) // a fault is this row's 500; the other rows go on (R21)
				return
			}
			results[at[j]] = contract.Result[domain.Relationship]{Status: putStatus(res.Created), Item: &res.Relationship}
		})
		return http.StatusOK, contract.Results[domain.Relationship]{Results: results}, nil
	})
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(status, body), nil
}

// relationshipRowKeys are what a relationship batch row can meet other rows on (forRows): its
// contact, and each unique-per-site role it asks for or its contact held before the batch.
func relationshipRowKeys(row domain.RelationshipRow, holders map[string]string, cat catalog.Catalog) []string {
	keys := []string{"contact " + row.ContactID}
	for _, name := range row.Roles {
		if role, ok := cat.Role(name); ok && role.UniquePerSite {
			keys = append(keys, "role "+name)
		}
	}
	for role, holder := range holders {
		if holder == row.ContactID {
			keys = append(keys, "role "+role)
		}
	}
	return keys
}

// relationshipRow validates one row of a relationship batch, its roles in canonical order.
func (a *API) relationshipRow(row json.RawMessage) (domain.RelationshipRow, error) {
	var in domain.RelationshipRow
	if err := httpapi.DecodeStrict(row, &in); err != nil {
		return in, err
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
	in.Roles = roles
	return in, p.Err()
}
