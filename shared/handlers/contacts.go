package handlers

import (
	"context"
	"net/http"

	"rollcall/shared/apperr"
	"rollcall/shared/contract"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
	"rollcall/shared/ids"
	"rollcall/shared/store"
)

// MaxBatch is the most rows a batch takes (R19, R21).
const MaxBatch = contract.MaxBatch

// listContacts answers GET /accounts/{accountId}/contacts: ?emailType= and ?q= filter.
func (a *API) listContacts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return nil, err
	}
	f := store.ContactFilter{EmailType: r.Query("emailType"), Text: r.Query("q"), EmailStatus: r.Query("emailStatus")}
	if f.EmailType != "" && !a.cfg.Catalog.HasEmailType(f.EmailType) {
		return nil, apperr.InvalidField("emailType", "is not a known email type")
	}
	if f.EmailStatus != "" && f.EmailStatus != domain.EmailUndeliverable {
		return nil, apperr.InvalidField("emailStatus", "must be "+domain.EmailUndeliverable)
	}
	p, err := a.store.ListContacts(ctx, r.Caller, acc, f, limit, cursor)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}

// createContact answers POST /accounts/{accountId}/contacts (R16–R19).
func (a *API) createContact(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	var in domain.CreateContactInput
	var c domain.Contact
	if err := decode(r, &in, func() (err error) {
		c, err = domain.NewContact(ids.New(ids.Contact), acc, in, a.cfg.Catalog, a.now())
		return err
	}); err != nil {
		return nil, err
	}
	idem, err := idempotent(r, acc)
	if err != nil {
		return nil, err
	}
	if err := a.store.CreateContact(ctx, r.Caller, c, idem, c); err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusCreated, c).WithETag(c.Version), nil
}

// rowError is the result of a failed row.
func rowError[T any](err error) contract.Result[T] {
	p := httpapi.ProblemBody(err)
	status, _ := p["status"].(float64)
	return contract.Result[T]{Status: int(status), Error: p}
}

// batchCreateContacts answers POST /accounts/{accountId}/contacts/batch ("Save & New", R19):
// each row succeeds or fails on its own; the answer lists the outcomes in order.
func (a *API) batchCreateContacts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	var in contract.Batch[domain.CreateContactInput]
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
		return a.store.CheckContactWriter(ctx, r.Caller, acc)
	}, func() (int, any, error) {
		results := make([]contract.Result[domain.Contact], len(rows))
		contacts := make([]*domain.Contact, len(rows))
		firstByEmail := map[string]int{}
		for i, row := range rows {
			var in domain.CreateContactInput
			err := httpapi.DecodeStrict(row, &in)
			var c domain.Contact
			if httpapi.Partial(err) {
				var verr error
				c, verr = domain.NewContact(ids.New(ids.Contact), acc, in, a.cfg.Catalog, a.now())
				err = httpapi.Join(err, verr)
			}
			if err != nil {
				results[i] = rowError[domain.Contact](err)
				continue
			}
			email := domain.NormaliseEmail(c.Email)
			if j, dup := firstByEmail[email]; dup {
				results[i] = rowError[domain.Contact](apperr.Conflict(apperr.CodeContactEmailTaken, "row %d of this batch has the same email", j).
					With("contactId", contacts[j].ID))
				continue
			}
			firstByEmail[email] = i
			contacts[i] = &c
		}
		var valid []int
		for i, c := range contacts {
			if c != nil {
				valid = append(valid, i)
			}
		}
		forRows(ctx, len(valid), nil, func(ctx context.Context, j int) {
			i := valid[j]
			if err := a.store.CreateCheckedContact(ctx, r.Caller, *contacts[i]); err != nil {
				results[i] = rowError[domain.Contact](err) // a fault is this row's 500; the other rows go on (R19)
				return
			}
			results[i] = contract.Result[domain.Contact]{Status: http.StatusCreated, Item: contacts[i]}
		})
		return http.StatusOK, contract.Results[domain.Contact]{Results: results}, nil
	})
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(status, body), nil
}

// getContact answers GET /accounts/{accountId}/contacts/{contactId}.
func (a *API) getContact(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, id := path.Account, path.Contact
	c, err := a.store.GetContact(ctx, r.Caller, acc, id)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, c).WithETag(c.Version), nil
}

// updateContact answers PATCH /accounts/{accountId}/contacts/{contactId} (If-Match honoured).
func (a *API) updateContact(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, id := path.Account, path.Contact
	var in domain.UpdateContactInput
	if err := decode(r, &in, func() error { return domain.CheckContactUpdate(in, a.cfg.Catalog) }); err != nil {
		return nil, err
	}
	ifMatch, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	c, err := a.store.UpdateContact(ctx, r.Caller, acc, id, in, ifMatch)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, c).WithETag(c.Version), nil
}

// deleteContact answers DELETE /accounts/{accountId}/contacts/{contactId} (If-Match honoured).
func (a *API) deleteContact(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	path, err := readPath(r)
	if err != nil {
		return nil, err
	}
	acc, id := path.Account, path.Contact
	ifMatch, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	if err := a.store.DeleteContact(ctx, r.Caller, acc, id, ifMatch); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}
