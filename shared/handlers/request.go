package handlers

import (
	"strconv"
	"strings"

	"rollcall/shared/apperr"
	"rollcall/shared/httpapi"
	"rollcall/shared/idempotency"
	"rollcall/shared/ids"
	"rollcall/shared/store"
)

// accountID returns the account id of the path, for routes whose only id it is (readPath).
func accountID(r *httpapi.Request) (string, error) {
	p, err := readPath(r)
	return p.Account, err
}

// pathIDs are the ids a request's path names; those its route has no parameter for are "".
type pathIDs struct {
	Account, Site, Contact, Invitation, User string
}

// pathParams lists the path parameters of the routes, in the order they are checked, with how
// each is validated and what a 404 names. An id that cannot exist is 404, like one the caller
// may not see.
var pathParams = []struct {
	name, what string
	valid      func(string) bool
	dst        func(*pathIDs) *string
}{
	{"accountId", "account", func(id string) bool { return ids.Valid(ids.Account, id) }, func(p *pathIDs) *string { return &p.Account }},
	{"siteId", "site", func(id string) bool { return ids.Valid(ids.Site, id) }, func(p *pathIDs) *string { return &p.Site }},
	{"contactId", "contact", func(id string) bool { return ids.Valid(ids.Contact, id) }, func(p *pathIDs) *string { return &p.Contact }},
	{"invitationId", "invitation", func(id string) bool { return ids.Valid(ids.Invitation, id) }, func(p *pathIDs) *string { return &p.Invitation }},
	{"userId", "user", validUserID, func(p *pathIDs) *string { return &p.User }},
}

// readPath reads and checks every id parameter of the request's route (404 for one that cannot
// exist, the account's first).
func readPath(r *httpapi.Request) (pathIDs, error) {
	var p pathIDs
	for _, pp := range pathParams {
		if !strings.Contains(r.Raw.RouteKey, "{"+pp.name+"}") {
			continue
		}
		id := r.Param(pp.name)
		if !pp.valid(id) {
			return p, apperr.NotFound(pp.what)
		}
		*pp.dst(&p) = id
	}
	return p, nil
}

// validUserID reports whether id can be a login's subject (what {userId} names).
func validUserID(id string) bool { return id != "" && len(id) <= 255 }

// decode reads r's body into dst strictly, then runs validate over what it could read, also when
// the body had field problems (unknown or mistyped keys): the 400 lists the problems of both at
// once (httpapi.Join). Problems of the body as a whole (not JSON, too large) are answered alone.
func decode(r *httpapi.Request, dst any, validate func() error) error {
	err := r.Decode(dst)
	if !httpapi.Partial(err) {
		return err
	}
	return httpapi.Join(err, validate())
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
