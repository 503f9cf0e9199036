package handlers

import (
	"strconv"

	"rollcall/shared/apperr"
	"rollcall/shared/httpapi"
	"rollcall/shared/idempotency"
	"rollcall/shared/ids"
	"rollcall/shared/store"
)

// accountID returns the account id of the path; an id that cannot exist is 404, as for an
// account the caller is not a member of.
func accountID(r *httpapi.Request) (string, error) {
	id := r.Param("accountId")
	if !ids.Valid(ids.Account, id) {
		return "", apperr.NotFound("account")
	}
	return id, nil
}

// pathID returns path parameter name, which must be an id with prefix (404 otherwise).
func pathID(r *httpapi.Request, name, prefix, what string) (string, error) {
	id := r.Param(name)
	if !ids.Valid(prefix, id) {
		return "", apperr.NotFound(what)
	}
	return id, nil
}

// page reads ?limit= (1 to 100, default 50) and ?cursor=.
func page(r *httpapi.Request) (limit int, cursor string, err error) {
	limit = store.DefaultLimit
	if v := r.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			return 0, "", apperr.InvalidField("limit", "must be a whole number from 1 to 100")
		}
		limit = n
	}
	return limit, r.Query("cursor"), nil
}

// idempotent reads the Idempotency-Key of a POST in account accountID ("" outside accounts).
func idempotent(r *httpapi.Request, accountID string) (*idempotency.Request, error) {
	return idempotency.Parse(r.Header(idempotency.Header), accountID, r.Caller.Sub,
		r.Raw.RequestContext.HTTP.Method, r.Raw.RawPath, r.Body)
}
