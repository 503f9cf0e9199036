package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"rollcall/shared/apperr"
	"rollcall/shared/contract"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
	"rollcall/shared/idempotency"
	"rollcall/shared/ids"
	"rollcall/shared/routes"
)

// apiVersion is the version of the API that info.version states.
const apiVersion = "1.0.0"

// pathParam describes a path parameter of the route table.
type pathParam struct {
	Prefix string // id prefix, "" for ids that have none
	About  string
}

// pathParams describes every {parameter} the route table's paths may use.
var pathParams = map[string]pathParam{
	"accountId":    {ids.Account, "The account id. An account the caller is not a member of is 404, as one that does not exist."},
	"contactId":    {ids.Contact, "The contact id."},
	"siteId":       {ids.Site, "The site id."},
	"invitationId": {ids.Invitation, "The invitation id."},
	"userId":       {"", "The user's login subject (`sub`), as `id` of a user shows it."},
}

// problemAnswer is one error status an operation can answer, with its codes.
type problemAnswer struct {
	Status int
	Codes  []string
	When   string
}

// operation is a route with its entry in ops: what the OpenAPI document and api.md show.
type operation struct {
	routes.Route
	op
	Params []string // path parameters, in path order
}

// api is everything the generator writes, derived from the route table, ops and the Go types.
type api struct {
	Ops     []operation
	Codes   []string // every problem code of apperr, in source order
	Schemas map[string]*component
}

// load checks the route table against ops and derives the schemas of every operation.
func load(root string, table []routes.Route) (*api, *builder, error) {
	var errs []error
	seen := map[string]bool{}
	a := &api{}
	for _, r := range table {
		o, ok := ops[r.Function]
		if !ok {
			errs = append(errs, fmt.Errorf("route %s (function %q) has no entry in ops (infra/cmd/apidoc/operations.go): "+
				"add its request and answer types there, then run go run ./infra/cmd/apidoc", r.Key(), r.Function))
			continue
		}
		if seen[r.Function] {
			errs = append(errs, fmt.Errorf("function %q serves two routes", r.Function))
		}
		seen[r.Function] = true
		if !slices.ContainsFunc(groups, func(g group) bool { return g.Tag == o.Group }) {
			errs = append(errs, fmt.Errorf("ops[%q].Group %q is not a group", r.Function, o.Group))
		}
		if len(o.Answers) == 0 {
			errs = append(errs, fmt.Errorf("ops[%q] has no answers", r.Function))
		}
		var params []string
		for _, seg := range strings.Split(r.Path, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				name = strings.TrimSuffix(name, "}")
				if _, known := pathParams[name]; !known {
					errs = append(errs, fmt.Errorf("route %s: path parameter {%s} is not described in pathParams", r.Key(), name))
				}
				params = append(params, name)
			}
		}
		a.Ops = append(a.Ops, operation{Route: r, op: o, Params: params})
	}
	for _, name := range slices.Sorted(maps.Keys(ops)) {
		if !seen[name] {
			errs = append(errs, fmt.Errorf("ops[%q] has no route in routes.All: remove it or add the route", name))
		}
	}
	var codes []string
	for _, d := range contract.ProblemCodes {
		codes = append(codes, d.Code)
	}
	a.Codes = codes
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}

	b := newBuilder()
	b.problem(codes)
	for _, o := range a.Ops {
		if o.Body != nil {
			b.ref(o.Body, requestMode)
		}
		for _, ans := range o.Answers {
			if ans.Body != nil {
				b.ref(ans.Body, answerMode)
			}
		}
	}
	b.unused()
	if len(b.errs) > 0 {
		return nil, nil, errors.Join(b.errs...)
	}
	a.Schemas = b.comps
	return a, b, nil
}

// ref returns the schema of tr in mode m (a reference for named and hand-written types).
func (b *builder) ref(tr *typeRef, m mode) *Schema {
	if tr.Go != nil {
		return b.schema(tr.Go, m)
	}
	if c, ok := b.comps[tr.Name]; ok {
		if c.Mode != m {
			b.fail("%s is used both in requests and in answers", tr.Name)
		}
		return refTo(tr.Name)
	}
	c := &component{Mode: m, Schema: &Schema{}}
	b.comps[tr.Name] = c
	*c.Schema = *tr.Make(b)
	return refTo(tr.Name)
}

// problem adds the Problem component: RFC 9457's members, the code and the field errors.
func (b *builder) problem(codes []string) {
	fieldErr := b.schema(reflect.TypeFor[apperr.FieldError](), answerMode)
	enum := make([]any, len(codes))
	for i, c := range codes {
		enum[i] = c
	}
	s := &Schema{
		Type: "object",
		Description: "An RFC 9457 problem, answered as `application/problem+json` for every error, and embedded in " +
			"batch results for each failed row. Some codes add a member that names the item in the way (see below).",
		Properties: append(props{
			{"type", &Schema{Type: "string", Format: "uri", Description: "`" + problemTypeBase + "` followed by the code.", Examples: []any{problemTypeBase + apperr.CodeNotFound}}},
			{"title", &Schema{Type: "string", Description: "The HTTP status text."}},
			{"status", &Schema{Type: "integer", Description: "The HTTP status."}},
			{"detail", &Schema{Type: "string", Description: "What went wrong, for people. Never a stack trace or AWS error text."}},
			{"code", &Schema{Type: "string", Enum: enum, Description: "The stable problem code: what clients should branch on."}},
			{"errors", &Schema{Type: "array", Items: fieldErr, Description: "400 `validation_failed`: every invalid field."}},
		}, problemExtras...),
		Required: []string{"type", "title", "status", "code"},
	}
	b.comps[problemName] = &component{Schema: s, Mode: answerMode}
}

// whoKey is Who as the document's x-rollcall-who states it.
func whoKey(w routes.Who) string {
	switch w {
	case routes.Anyone:
		return "anyone"
	case routes.Operator:
		return "operator"
	case routes.Member:
		return "member"
	case routes.Owner:
		return "owner"
	case routes.Permission:
		return "permission"
	}
	return "unknown"
}

// whoText says in words who may call r.
func whoText(r routes.Route) string {
	switch r.Who {
	case routes.Anyone:
		return "Anyone with a valid token."
	case routes.Operator:
		return "Operators only."
	case routes.Member:
		return "Any member of the account (owner or user, whatever its permissions), and operators."
	case routes.Owner:
		return "The account owner, and operators."
	case routes.Permission:
		s := "Members holding `" + r.Permission + "`, the owner"
		if slices.Contains(domain.AdminPermissions, r.Permission) {
			s += ", admins"
		}
		return s + " and operators."
	}
	return "Nobody (unknown Who)."
}

// hasAccount reports whether the route is inside an account.
func (o operation) hasAccount() bool { return slices.Contains(o.Params, "accountId") }

// problems lists the error answers of o, by status, as its declaration says (shared/contract).
func (o operation) problems() []problemAnswer {
	d, _ := contract.ByFunction(o.Function)
	var out []problemAnswer
	for _, p := range d.Problems() {
		out = append(out, problemAnswer(p))
	}
	return out
}

// rows lists the codes of p with when each is given: the first code (the status's generic one)
// gets p.When, the others (and all of them when p.When is "") what codeDocs says of them.
func (p problemAnswer) rows() [][2]string {
	var out [][2]string
	for i, c := range p.Codes {
		when := codeDocs[c].Meaning
		if i == 0 && p.When != "" {
			when = p.When
		}
		out = append(out, [2]string{c, when})
	}
	return out
}

// describe says when p is answered, in one line.
func (p problemAnswer) describe() string {
	var parts []string
	for _, r := range p.rows() {
		parts = append(parts, "`"+r[0]+"`: "+strings.TrimSuffix(r[1], "."))
	}
	return strings.Join(parts, "; ") + "."
}

// parameters are the parameters of o: path, query, then headers.
func (o operation) parameters() []any {
	var out []any
	for _, p := range o.Params {
		out = append(out, obj{{"$ref", "#/components/parameters/" + p}})
	}
	for _, q := range o.Query {
		if q.Name == qLimit.Name || q.Name == qCursor.Name {
			out = append(out, obj{{"$ref", "#/components/parameters/" + q.Name}})
			continue
		}
		out = append(out, obj{{"name", q.Name}, {"in", "query"}, {"required", false}, {"description", q.About}, {"schema", q.Schema}})
	}
	if o.IfMatch {
		out = append(out, obj{{"$ref", "#/components/parameters/IfMatch"}})
	}
	if o.Idempotent {
		out = append(out, obj{{"$ref", "#/components/parameters/IdempotencyKey"}})
	}
	return out
}

// exampleProblem is an example of a problem with code.
func exampleProblem(code string) obj {
	d := codeDocs[code]
	ex := obj{
		{"type", problemTypeBase + code},
		{"title", http.StatusText(d.Status)},
		{"status", d.Status},
		{"detail", strings.ReplaceAll(d.Meaning, "`", "")},
		{"code", code},
	}
	if code == apperr.CodeValidation {
		ex = ex.set("detail", "the request is not valid")
		ex = ex.set("errors", []apperr.FieldError{{Field: "email", Message: "must be an email address like name@example.com"}})
	}
	return ex
}

// openAPI renders the OpenAPI 3.1 document.
func (a *api) openAPI(b *builder) ([]byte, error) {
	paths := obj{}
	for _, o := range a.Ops {
		item, _ := func() (obj, bool) {
			for _, m := range paths {
				if m.Key == o.Path {
					return m.Value.(obj), true
				}
			}
			return obj{}, false
		}()
		item = item.set(strings.ToLower(o.Method), a.operationObject(b, o))
		paths = paths.set(o.Path, item)
	}

	var tags []any
	for _, g := range groups {
		tags = append(tags, obj{{"name", g.Tag}, {"description", g.Title + ": " + g.Intro}})
	}
	schemas := obj{}
	for _, name := range slices.Sorted(maps.Keys(a.Schemas)) {
		schemas = schemas.set(name, a.Schemas[name].Schema)
	}
	params := obj{}
	for _, name := range slices.Sorted(maps.Keys(pathParams)) {
		p := pathParams[name]
		s := &Schema{Type: "string", MinLength: intp(1), MaxLength: intp(255)}
		about := p.About
		if p.Prefix != "" {
			s = &Schema{Type: "string", Pattern: "^" + p.Prefix + "[0-9A-Za-z]{26}$"}
			about += " Ids are `" + p.Prefix + "` followed by a ULID; an id that cannot exist is 404."
		}
		params = params.set(name, obj{{"name", name}, {"in", "path"}, {"required", true}, {"description", about}, {"schema", s}})
	}
	params = params.set("limit", obj{{"name", "limit"}, {"in", "query"}, {"required", false}, {"description", qLimit.About}, {"schema", qLimit.Schema}})
	params = params.set("cursor", obj{{"name", "cursor"}, {"in", "query"}, {"required", false}, {"description", qCursor.About}, {"schema", qCursor.Schema}})
	params = params.set("IfMatch", obj{{"name", "If-Match"}, {"in", "header"}, {"required", false},
		{"description", "The `ETag` of the version read (or `*`). When it does not match the item's current version the " +
			"change is refused with 412; without it the change applies to whatever version is current."},
		{"schema", &Schema{Type: "string", Examples: []any{`"3"`}}}})
	params = params.set("IdempotencyKey", obj{{"name", idempotency.Header}, {"in", "header"}, {"required", false},
		{"description", fmt.Sprintf("A key of the caller's choice (up to %d characters) that makes the request safe to "+
			"retry: a repeat by the same caller within %d hours returns the first answer (with `Idempotent-Replayed: true`); "+
			"the same key with a different request is 422. Only successful answers are recorded.",
			idempotency.MaxKeyLength, int(idempotency.Retention.Hours()))},
		{"schema", &Schema{Type: "string", MinLength: intp(1), MaxLength: intp(idempotency.MaxKeyLength)}}})

	used := map[string]bool{}
	for _, o := range a.Ops {
		for _, p := range o.problems() {
			for _, c := range p.Codes {
				used[c] = true
			}
		}
	}
	examples := obj{}
	for _, c := range a.Codes {
		if !used[c] {
			continue // no operation answers it (a gateway's or a fault's): no example to refer to
		}
		examples = examples.set(c, obj{{"summary", strings.ReplaceAll(codeDocs[c].Meaning, "`", "")}, {"value", exampleProblem(c)}})
	}

	headers := obj{
		{"ETag", obj{{"description", "The item's version, quoted (`\"3\"`): send it as `If-Match` to change the item only if nobody changed it since."}, {"schema", &Schema{Type: "string"}}}},
		{"IdempotentReplayed", obj{{"description", "`true` when this is the recorded answer to an earlier request with the same `Idempotency-Key`."}, {"schema", &Schema{Type: "string", Enum: []any{"true"}}}}},
		{"RetryAfter", obj{{"description", "Seconds to wait before retrying."}, {"schema", &Schema{Type: "integer"}}}},
	}

	doc := obj{
		{"openapi", "3.1.0"},
		{"info", obj{
			{"title", "rollcall API"},
			{"version", apiVersion},
			{"summary", "Accounts, users, invitations, contacts, support sites and contact roles behind a customer portal."},
			{"description", overviewText()},
		}},
		{"jsonSchemaDialect", "https://spec.openapis.org/oas/3.1/dialect/base"},
		{"servers", []any{
			obj{{"url", "https://{apiId}.execute-api.{region}.amazonaws.com"}, {"description", "A deployed stage (API Gateway HTTP API, `$default` stage)."},
				{"variables", obj{{"apiId", obj{{"default", "abcdef1234"}}}, {"region", obj{{"default", "us-east-1"}}}}}},
			obj{{"url", "http://127.0.0.1:3000"}, {"description", "The local stack (`make dev`; `make token` prints a bearer token)."}},
		}},
		{"security", []any{obj{{"bearerAuth", []string{}}}}},
		{"tags", tags},
		{"paths", paths},
		{"components", obj{
			{"securitySchemes", obj{{"bearerAuth", obj{
				{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"},
				{"description", "A JWT from the vendor's identity provider (Cognito by default). Operators are callers whose token's group claim holds the stage's operator group."},
			}}}},
			{"parameters", params},
			{"headers", headers},
			{"examples", examples},
			{"schemas", schemas},
		}},
	}
	compact, err := doc.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// operationObject is the OpenAPI operation of o.
func (a *api) operationObject(b *builder, o operation) obj {
	desc := "**Who may call:** " + whoText(o.Route) + "\n\n" + o.About
	if len(o.Notes) > 0 {
		desc += "\n\n" + strings.Join(o.Notes, "\n\n")
	}
	if len(o.RowErrors) > 0 {
		desc += "\n\n**Row errors** (inside the 200 answer): " + rowErrorText(o.RowErrors)
	}
	if len(o.Rules) > 0 {
		desc += "\n\nRules: " + strings.Join(o.Rules, ", ") + "."
	}
	op := obj{
		{"operationId", o.Function},
		{"summary", o.Summary},
		{"description", desc},
		{"tags", []string{o.Group}},
		{"x-rollcall-who", whoKey(o.Who)},
	}
	if o.Who == routes.Permission {
		op = op.set("x-rollcall-permission", o.Permission)
	}
	if len(o.Rules) > 0 {
		op = op.set("x-rollcall-rules", o.Rules)
	}
	if ps := o.parameters(); len(ps) > 0 {
		op = op.set("parameters", ps)
	}
	if o.Body != nil {
		op = op.set("requestBody", obj{{"required", !o.BodyOptional}, {"content", obj{{"application/json", obj{{"schema", b.ref(o.Body, requestMode)}}}}}})
	}
	responses := obj{}
	for _, ans := range o.Answers {
		r := obj{{"description", statusLine(ans.Status, ans.When)}}
		h := obj{}
		if ans.ETag {
			h = h.set("ETag", obj{{"$ref", "#/components/headers/ETag"}})
		}
		if o.Idempotent {
			h = h.set("Idempotent-Replayed", obj{{"$ref", "#/components/headers/IdempotentReplayed"}})
		}
		if len(h) > 0 {
			r = r.set("headers", h)
		}
		if ans.Body != nil {
			r = r.set("content", obj{{"application/json", obj{{"schema", b.ref(ans.Body, answerMode)}}}})
		}
		responses = responses.set(strconv.Itoa(ans.Status), r)
	}
	for _, p := range o.problems() {
		examples := obj{}
		for _, c := range p.Codes {
			examples = examples.set(c, obj{{"$ref", "#/components/examples/" + c}})
		}
		r := obj{{"description", statusLine(p.Status, p.describe())}}
		if p.Status == http.StatusTooManyRequests {
			r = r.set("headers", obj{{"Retry-After", obj{{"$ref", "#/components/headers/RetryAfter"}}}})
		}
		r = r.set("content", obj{{"application/problem+json", obj{{"schema", refTo(problemName)}, {"examples", examples}}}})
		responses = responses.set(strconv.Itoa(p.Status), r)
	}
	return op.set("responses", responses)
}

// statusLine is "201 Created: when".
func statusLine(status int, when string) string {
	s := http.StatusText(status)
	if when != "" {
		s += ": " + when
	}
	return s
}

// rowErrorText describes the errors of batch rows.
func rowErrorText(rows []contract.RowError) string {
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%d %s when %s", r.Status, codeList(r.Codes), r.When))
	}
	return strings.Join(parts, "; ") + "."
}

// overviewText is the short version of api.md's conventions, for info.description.
func overviewText() string {
	return strings.Join([]string{
		"The HTTP API of rollcall: JSON over HTTPS, one AWS Lambda function per operation. Generated from the route " +
			"table (`shared/routes`) and the Go types by `go run ./infra/cmd/apidoc`; docs/api.md is the readable version.",
		"**Auth:** every route needs `Authorization: Bearer <JWT>`. What a caller may do depends on the account in the " +
			"path: operators may do everything; the owner everything within the account; admins read and write contacts " +
			"and relationships; users what their permissions allow. Accounts the caller is not a member of answer 404, never 403.",
		fmt.Sprintf("**Requests:** bodies are JSON objects of at most %d KiB; unknown fields, wrong types and invalid "+
			"values are 400 with field errors. Ids are opaque, prefixed and time-sortable (%s). Times are RFC 3339 UTC. "+
			"Optional answer fields are absent, not null.", httpapi.MaxBodyBytes>>10, codeList([]string{ids.Account, ids.Contact, ids.Site, ids.Invitation})),
		"**Errors:** RFC 9457 `application/problem+json` with a stable `code` (see the Problem schema).",
		"**Lists:** `{items, nextCursor?}`; pass `nextCursor` as `cursor` for the next page, `limit` sets the page size. " +
			"**Batches:** `{items: [...]}` answer 200 with `{results: [{status, item?, error?}]}`, one result per row in order.",
		"**Concurrency:** reads of accounts and contacts return an `ETag`; changes honour `If-Match` (412 on a mismatch). " +
			"**Retries:** POST routes that change something honour `Idempotency-Key`.",
	}, "\n\n")
}
