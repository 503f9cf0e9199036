package handlers

import (
	"context"
	"net/http"

	"golang.org/x/sync/errgroup"

	"rollcall/shared/apperr"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
	"rollcall/shared/ids"
	"rollcall/shared/store"
)

// MaxBatch is the most rows a batch takes (R19, R21).
const MaxBatch = 100

// batchConcurrency is how many rows of a batch are written at once.
const batchConcurrency = 4

// ListContacts answers GET /accounts/{accountId}/contacts: ?emailType= and ?q= filter.
func (a *API) ListContacts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return nil, err
	}
	f := store.ContactFilter{EmailType: r.Query("emailType"), Text: r.Query("q")}
	if f.EmailType != "" && !a.cfg.Catalog.HasEmailType(f.EmailType) {
		return nil, apperr.InvalidField("emailType", "is not a known email type")
	}
	p, err := a.store.ListContacts(ctx, r.Caller, acc, f, limit, cursor)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}

// CreateContact answers POST /accounts/{accountId}/contacts (R16–R19).
func (a *API) CreateContact(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
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

// BatchResult is one row's outcome in a batch answer.
type BatchResult struct {
	Status int            `json:"status"`
	Item   any            `json:"item,omitempty"`
	Error  map[string]any `json:"error,omitempty"`
}

// batchBody is the body of a batch request; rows are decoded one by one so that each row's
// errors are its own.
type batchBody struct {
	Items []jsonRow `json:"items"`
}

type jsonRow []byte

func (j *jsonRow) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

// decodeBatch reads {items: [...]}: 400 when it is empty or holds more than MaxBatch rows.
func decodeBatch(r *httpapi.Request) ([]jsonRow, error) {
	var body batchBody
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	switch {
	case body.Items == nil:
		return nil, apperr.InvalidField("items", "is required")
	case len(body.Items) == 0:
		return nil, apperr.InvalidField("items", "must hold at least one row")
	case len(body.Items) > MaxBatch:
		return nil, apperr.InvalidField("items", "must hold at most 100 rows")
	}
	return body.Items, nil
}

// rowError is the result of a failed row.
func rowError(err error) BatchResult {
	p := httpapi.ProblemBody(err)
	status, _ := p["status"].(float64)
	return BatchResult{Status: int(status), Error: p}
}

// BatchCreateContacts answers POST /accounts/{accountId}/contacts/batch ("Save & New", R19):
// each row succeeds or fails on its own; the answer lists the outcomes in order.
func (a *API) BatchCreateContacts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	acc, err := accountID(r)
	if err != nil {
		return nil, err
	}
	rows, err := decodeBatch(r)
	if err != nil {
		return nil, err
	}
	idem, err := idempotent(r, acc)
	if err != nil {
		return nil, err
	}
	status, body, err := a.store.Idempotent(ctx, idem, func() (int, any, error) {
		if err := a.store.CheckContactWriter(ctx, r.Caller, acc); err != nil {
			return 0, nil, err
		}
		results := make([]BatchResult, len(rows))
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
				results[i] = rowError(err)
				continue
			}
			email := domain.NormaliseEmail(c.Email)
			if j, dup := firstByEmail[email]; dup {
				results[i] = rowError(apperr.Conflict(apperr.CodeContactEmailTaken, "row %d of this batch has the same email", j).
					With("contactId", contacts[j].ID))
				continue
			}
			firstByEmail[email] = i
			contacts[i] = &c
		}
		var g errgroup.Group
		g.SetLimit(batchConcurrency)
		for i, c := range contacts {
			if c == nil {
				continue
			}
			g.Go(func() error {
				if err := a.store.CreateContact(ctx, r.Caller, *c, nil, nil); err != nil {
					results[i] = rowError(err) // a fault is this row's 500; the other rows go on (R19)
					return nil
				}
				results[i] = BatchResult{Status: http.StatusCreated, Item: c}
				return nil
			})
		}
		_ = g.Wait() // rows report their own errors
		return http.StatusOK, map[string]any{"results": results}, nil
	})
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(status, body), nil
}

// GetContact answers GET /accounts/{accountId}/contacts/{contactId}.
func (a *API) GetContact(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
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

// UpdateContact answers PATCH /accounts/{accountId}/contacts/{contactId} (If-Match honoured).
func (a *API) UpdateContact(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
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

// DeleteContact answers DELETE /accounts/{accountId}/contacts/{contactId} (If-Match honoured).
func (a *API) DeleteContact(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
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
