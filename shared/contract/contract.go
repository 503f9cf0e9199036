// Package contract is rollcall's API contract as data: for every route of the route table
// (shared/routes) it declares the request body type, the query parameters, the success answers
// (status, Go type, ETag) and the problem codes the operation may answer, with the prose the
// API documents show.
//
// The handlers read their inputs through it (httpapi.Adapt refuses to decode a body into
// another type than the declared one and to read an undeclared query parameter), the OpenAPI
// document (infra/cmd/apidoc) is generated from it, and the response-validation tests check every
// answer against that document. shared/routes stays free of these imports because the CDK stack
// reads it.
package contract

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"rollcall/shared/apperr"
	"rollcall/shared/httpapi"
	"rollcall/shared/idempotency"
	"rollcall/shared/routes"
)

// MaxBatch is the most rows a batch takes (R19, R21).
const MaxBatch = 100

// Group is a section of the API: one tag in OpenAPI, one section of api.md.
type Group struct {
	Tag   string
	Title string
	Intro string
}

// Groups lists the sections in the order api.md shows them.
var Groups = []Group{
	{"catalog", "Catalog & me", "What a stage offers, and which accounts the caller belongs to."},
	{"accounts", "Accounts", "Customer and partner accounts (tenants) and their owner details (R1–R4)."},
	{"users", "Users & ownership", "Logins with access to an account, their permissions, admin privileges and the owner (R3–R9)."},
	{"invitations", "Invitations", "Inviting users by email, and looking up and accepting invitations (R10–R15)."},
	{"contacts", "Contacts", "People of an account who receive email, with their email types (R16–R19)."},
	{"sites", "Sites & relationships", "Support sites and the contact roles that relate contacts to them (R20–R22)."},
	{"audit", "Audit", "The record of every change (R23)."},
}

// Answer is one success answer of an operation.
type Answer struct {
	Status int
	Body   reflect.Type // the Go type written as JSON; nil: no body
	When   string       // when this status is given (for operations with several)
	ETag   bool         // the answer carries the item's version as ETag
}

// Param is one query parameter: its name, JSON Schema type ("string" or "integer"), limits and
// what it does.
type Param struct {
	Name             string
	Type             string
	Minimum, Maximum *int
	Default          any
	Enum             []string
	About            string
}

// RowError is an error a batch row can get, inside a 200 answer.
type RowError struct {
	Status int
	Codes  []string
	When   string
}

// Operation is the contract of one route, by its Function.
type Operation struct {
	Group        string
	Summary      string
	About        string       // what it does, in markdown
	Rules        []string     // the rules of DESIGN.md it implements
	Body         reflect.Type // the request body's Go type; nil: no body
	BodyOptional bool         // the body may be left out (the handler then reads none)
	Query        []Param
	IfMatch      bool // honours If-Match (412 on a mismatch)
	Idempotent   bool // honours Idempotency-Key (422 on a reuse with another request)
	Answers      []Answer
	NotFound     []string // what may not be found (404 not_found)
	Forbidden    []string // 403 codes beyond forbidden
	Forbids      string   // when a 403 is given beyond the route's Who
	BadRequest   []string // 400 codes beyond validation_failed
	Conflicts    []string // 409 codes
	Gone         []string // 410 codes
	TooMany      []string // 429 codes
	RowErrors    []RowError
	Notes        []string // further notes, in markdown
}

// Declared is an operation with its route.
type Declared struct {
	routes.Route
	Operation
}

// ByFunction returns the declaration of function name, and whether there is one with a route.
func ByFunction(name string) (Declared, bool) {
	r, ok := routes.ByFunction(name)
	o, declared := ops[name]
	if !ok || !declared {
		return Declared{}, false
	}
	return Declared{Route: r, Operation: o}, true
}

// All returns the declaration of every route, in the route table's order. Check reports routes
// without a declaration and declarations without a route.
func All() []Declared {
	out := make([]Declared, 0, len(routes.All))
	for _, r := range routes.All {
		if d, ok := ByFunction(r.Function); ok {
			out = append(out, d)
		}
	}
	return out
}

// Check returns an error naming every route without a declaration, declaration without a
// route, and declaration that is incomplete.
func Check() error {
	var errs []string
	seen := map[string]bool{}
	for _, r := range routes.All {
		o, ok := ops[r.Function]
		if !ok {
			errs = append(errs, fmt.Sprintf("route %s (function %q) is not declared in shared/contract", r.Key(), r.Function))
			continue
		}
		if seen[r.Function] {
			errs = append(errs, fmt.Sprintf("function %q serves two routes", r.Function))
		}
		seen[r.Function] = true
		if len(o.Answers) == 0 {
			errs = append(errs, fmt.Sprintf("%s declares no answers", r.Function))
		}
		if !slices.ContainsFunc(Groups, func(g Group) bool { return g.Tag == o.Group }) {
			errs = append(errs, fmt.Sprintf("%s: group %q is not one of Groups", r.Function, o.Group))
		}
	}
	for name := range ops {
		if !seen[name] {
			errs = append(errs, fmt.Sprintf("declaration %q has no route in routes.All", name))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.Sort(errs)
	return fmt.Errorf("contract: %s", strings.Join(errs, "; "))
}

// QueryNames are the names of the declared query parameters.
func (o Operation) QueryNames() []string {
	out := make([]string, len(o.Query))
	for i, p := range o.Query {
		out[i] = p.Name
	}
	return out
}

// Contract is what httpapi.Adapt enforces of the declaration: the body type, the query
// parameters and the success statuses with their types.
func (o Operation) Contract() httpapi.Contract {
	c := httpapi.Contract{Body: o.Body, Query: o.QueryNames(), Answers: map[int]reflect.Type{}}
	for _, a := range o.Answers {
		c.Answers[a.Status] = a.Body
	}
	return c
}

// Batch is the body of a batch request: {items: [T, ...]}, 1 to MaxBatch rows. Decoding it
// keeps each row's JSON (Rows), so that handlers decode the rows one by one and each row's
// errors are its own; Items stays empty.
type Batch[T any] struct {
	Items []T `json:"items"`
	rows  []json.RawMessage
	given bool // whether the body had items
}

// UnmarshalJSON reads {items: [...]} strictly, keeping each row's JSON.
func (b *Batch[T]) UnmarshalJSON(data []byte) error {
	var raw struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := httpapi.DecodeStrict(data, &raw); err != nil {
		return err
	}
	b.rows, b.given = raw.Items, raw.Items != nil
	return nil
}

// Rows returns the JSON of each row: a 400 when items is absent, empty or over MaxBatch rows.
func (b *Batch[T]) Rows() ([]json.RawMessage, error) {
	switch {
	case !b.given:
		return nil, apperr.InvalidField("items", "is required")
	case len(b.rows) == 0:
		return nil, apperr.InvalidField("items", "must hold at least one row")
	case len(b.rows) > MaxBatch:
		return nil, apperr.InvalidField("items", fmt.Sprintf("must hold at most %d rows", MaxBatch))
	}
	return b.rows, nil
}

// Results is the answer of a batch: the outcome of each row, in the order of the rows.
type Results[T any] struct {
	Results []Result[T] `json:"results"`
}

// Result is the outcome of one row of a batch: its status, and what it made or its problem.
type Result[T any] struct {
	Status int            `json:"status"`
	Item   *T             `json:"item,omitempty"`
	Error  map[string]any `json:"error,omitempty"`
}

// ProblemAnswer is one error status an operation can answer, with its codes (the status's
// generic code first) and when it is given.
type ProblemAnswer struct {
	Status int
	Codes  []string
	When   string
}

// Problems lists the error answers of d by status: those every route gives (401, and 500 for a
// fault), those its route's Who and its body, query and headers imply (a route that honours
// Idempotency-Key answers 409 conflict to a repeat while the first request is still running),
// and its declared codes.
func (d Declared) Problems() []ProblemAnswer {
	var out []ProblemAnswer
	var bad []string
	if d.Body != nil {
		bad = append(bad, fmt.Sprintf("the body is not valid: not JSON, over %d KiB, an unknown field, a wrong type or an invalid value", httpapi.MaxBodyBytes>>10))
	}
	if len(d.Query) > 0 {
		bad = append(bad, "a query parameter is not valid")
	}
	if d.IfMatch {
		bad = append(bad, "`If-Match` is not an ETag this API gave out")
	}
	if d.Idempotent {
		bad = append(bad, fmt.Sprintf("`Idempotency-Key` is longer than %d characters", idempotency.MaxKeyLength))
	}
	if len(bad) > 0 || len(d.BadRequest) > 0 {
		out = append(out, ProblemAnswer{http.StatusBadRequest, append([]string{apperr.CodeValidation}, d.BadRequest...), strings.Join(bad, "; ")})
	}
	out = append(out, ProblemAnswer{http.StatusUnauthorized, []string{apperr.CodeUnauthorized}, "no valid bearer token"})
	var forbid []string
	switch d.Who {
	case routes.Operator:
		forbid = append(forbid, "the caller is not an operator")
	case routes.Owner:
		forbid = append(forbid, "the caller is a member but not the owner")
	case routes.Permission:
		forbid = append(forbid, "the caller is a member without `"+d.Permission+"`")
	}
	if d.Forbids != "" {
		forbid = append(forbid, d.Forbids)
	}
	if len(forbid) > 0 {
		out = append(out, ProblemAnswer{http.StatusForbidden, append([]string{apperr.CodeForbidden}, d.Forbidden...), strings.Join(forbid, "; ")})
	}
	if len(d.NotFound) > 0 {
		when := "not found: " + strings.Join(d.NotFound, ", ")
		if strings.Contains(d.Path, "{accountId}") {
			when += " (a caller who is not a member of the account gets 404 too)"
		}
		out = append(out, ProblemAnswer{http.StatusNotFound, []string{apperr.CodeNotFound}, when})
	}
	conflicts := d.Conflicts
	if d.Idempotent && !slices.Contains(conflicts, apperr.CodeConflict) {
		// A repeat while the first request with its Idempotency-Key is still running.
		conflicts = append(slices.Clone(conflicts), apperr.CodeConflict)
	}
	if len(conflicts) > 0 {
		out = append(out, ProblemAnswer{http.StatusConflict, conflicts, ""})
	}
	if len(d.Gone) > 0 {
		out = append(out, ProblemAnswer{http.StatusGone, d.Gone, ""})
	}
	if d.IfMatch {
		out = append(out, ProblemAnswer{http.StatusPreconditionFailed, []string{apperr.CodePreconditionFailed}, "`If-Match` does not match the item's current version"})
	}
	if d.Idempotent {
		out = append(out, ProblemAnswer{http.StatusUnprocessableEntity, []string{apperr.CodeIdempotencyMismatch}, "the `Idempotency-Key` was used with a different request"})
	}
	if len(d.TooMany) > 0 {
		out = append(out, ProblemAnswer{http.StatusTooManyRequests, d.TooMany, ""})
	}
	out = append(out, ProblemAnswer{http.StatusInternalServerError, []string{apperr.CodeInternal}, "an unexpected fault (a store error, an unreadable item); nothing about its cause is disclosed"})
	return out
}

// typeOf is the reflect.Type of T, for declarations.
func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// ok, okTag, created and noContent are the usual success answers: 200, 200 with an ETag, 201
// and 204.
func ok(t reflect.Type) []Answer      { return []Answer{{Status: http.StatusOK, Body: t}} }
func okTag(t reflect.Type) []Answer   { return []Answer{{Status: http.StatusOK, Body: t, ETag: true}} }
func created(t reflect.Type) []Answer { return []Answer{{Status: http.StatusCreated, Body: t}} }
func noContent() []Answer             { return []Answer{{Status: http.StatusNoContent}} }

// intp is a pointer to n.
func intp(n int) *int { return &n }

// codeList formats names as `a`, `b` and `c`.
func codeList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
