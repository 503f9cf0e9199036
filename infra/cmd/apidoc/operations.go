package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"rollcall/shared/contract"
	"rollcall/shared/domain"
	"rollcall/shared/httpapi"
)

// This file is the one table that maps each route's Function to what reflection cannot see: its
// request and answer Go types, statuses, query parameters, headers, the errors it can give and the
// rules it implements. Everything else (paths, methods, who may call, schemas) comes from the
// route table and the Go types themselves. A route without an entry here, or an entry without a
// route, stops the generator.

// group is a section of the API: one tag in OpenAPI, one section of api.md.
type group struct {
	Tag   string
	Title string
	Intro string
}

// groups lists the sections in the order api.md shows them.
var groups = convertGroups()

func convertGroups() []group {
	out := []group{}
	for _, g := range contract.Groups {
		out = append(out, group(g))
	}
	return out
}

// typeRef names the schema of a body: a Go type by reflection, or a hand-written schema for a
// shape that has no Go struct of its own (lists of batch rows and results).
type typeRef struct {
	Go   reflect.Type
	Name string                   // component name of a hand-written schema
	Make func(b *builder) *Schema // makes the hand-written schema
}

// answer is one success answer of an operation.
type answer struct {
	Status int
	Body   *typeRef // nil: no body
	When   string   // when this status is given (for operations with several)
	ETag   bool     // the answer carries the item's version as ETag
}

// query is one query parameter.
type query struct {
	Name   string
	Schema *Schema
	About  string
}

// op is one operation's declaration (shared/contract) with its body, query parameters and
// answers in the generator's terms; the rest of the declaration is used as it is.
type op struct {
	contract.Operation
	Body    *typeRef
	Query   []query
	Answers []answer
}

// ops maps each route's Function to its declaration in shared/contract, in the generator's
// terms.
var ops = fromContract()

// Query parameters every list shares, which the document declares once as components.
var qLimit, qCursor = paramOf(contract.Limit), paramOf(contract.Cursor)

// paramOf converts a declared query parameter.
func paramOf(q contract.Param) query {
	s := &Schema{Type: q.Type, Minimum: q.Minimum, Maximum: q.Maximum, Default: q.Default}
	for _, e := range q.Enum {
		s.Enum = append(s.Enum, e)
	}
	return query{q.Name, s, q.About}
}

// fromContract converts the declarations of shared/contract.
func fromContract() map[string]op {
	out := map[string]op{}
	for _, d := range contract.All() {
		o := d.Operation
		x := op{Operation: o, Body: refOf(o.Body)}
		for _, q := range o.Query {
			x.Query = append(x.Query, paramOf(q))
		}
		for _, a := range o.Answers {
			x.Answers = append(x.Answers, answer{Status: a.Status, Body: refOf(a.Body), When: a.When, ETag: a.ETag})
		}
		out[d.Function] = x
	}
	return out
}

// refOf is the typeRef of a declared Go type: batches and their results have hand-written
// schemas.
func refOf(t reflect.Type) *typeRef {
	switch t {
	case nil:
		return nil
	case reflect.TypeFor[contract.Batch[domain.CreateContactInput]]():
		return batchOf[domain.CreateContactInput]("ContactBatch")
	case reflect.TypeFor[contract.Batch[domain.RelationshipRow]]():
		return batchOf[domain.RelationshipRow]("RelationshipBatch")
	case reflect.TypeFor[contract.Results[domain.Contact]]():
		return resultsOf[domain.Contact]()
	case reflect.TypeFor[contract.Results[domain.Relationship]]():
		return resultsOf[domain.Relationship]()
	}
	return &typeRef{Go: t}
}

// batchOf is the body of a batch of rows of type T, {items: [T, ...]}, as schema name.
func batchOf[T any](name string) *typeRef {
	row := reflect.TypeFor[T]()
	return &typeRef{Name: name, Make: func(b *builder) *Schema {
		return &Schema{
			Type:        "object",
			Description: fmt.Sprintf("A batch of 1 to %d rows, each a %s.", contract.MaxBatch, componentName(row)),
			Properties: props{{"items", &Schema{Type: "array", Items: b.schema(row, requestMode),
				MinItems: intp(1), MaxItems: intp(contract.MaxBatch)}}},
			Required:             []string{"items"},
			AdditionalProperties: false,
		}
	}}
}

// resultsOf is the answer of a batch whose rows make items of type T: {results: [...]}, each
// result a contract.Result whose item is a T and whose error is a problem.
func resultsOf[T any]() *typeRef {
	item := reflect.TypeFor[T]()
	return &typeRef{Name: componentName(item) + "BatchResults", Make: func(b *builder) *Schema {
		row := b.inline(reflect.TypeFor[contract.Result[T]](), answerMode)
		row.Description = "The outcome of one row, in the order of the request's rows."
		for i, p := range row.Properties {
			switch p.Name {
			case "status":
				row.Properties[i].Schema.Description = "The row's HTTP status: 201 or 200 when it succeeded, else the problem's status."
			case "item":
				row.Properties[i].Schema = &Schema{Ref: refTo(componentName(item)).Ref, Description: "What the row made, when it succeeded."}
				b.schema(item, answerMode)
			case "error":
				row.Properties[i].Schema = &Schema{Ref: refTo(problemName).Ref, Description: "The row's problem, when it failed."}
			}
		}
		for _, want := range []string{"status", "item", "error"} {
			if row.Properties.get(want) == nil {
				b.fail("contract.Result has no JSON field %q: update resultsOf in the generator", want)
			}
		}
		return &Schema{
			Type:        "object",
			Description: "The outcome of each row of a batch, in order.",
			Properties:  props{{"results", &Schema{Type: "array", Items: row}}},
			Required:    []string{"results"},
		}
	}}
}

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

// codeDocs is contract.ProblemCodes by code.
var codeDocs = func() map[string]contract.CodeDoc {
	m := map[string]contract.CodeDoc{}
	for _, d := range contract.ProblemCodes {
		m[d.Code] = d
	}
	return m
}()

// problemExtras are the members some problems add beyond RFC 9457's and the code.
var problemExtras = props{
	{"contactId", &Schema{Type: "string", Description: "`contact_email_taken`: the contact that has the email; `role_taken`: the contact that holds the role."}},
	{"role", &Schema{Type: "string", Description: "`role_taken`: the role."}},
	{"invitationId", &Schema{Type: "string", Description: "`invitation_pending`: the pending invitation."}},
	{"userId", &Schema{Type: "string", Description: "`email_belongs_to_user`: the user that has the email."}},
	{"emailTypes", &Schema{Type: "array", Items: &Schema{Type: "string"}, Description: "`last_recipient`: the email types that would be left without a recipient."}},
	{"eligibleRoles", &Schema{Type: "array", Items: &Schema{Type: "string"}, Description: "`not_admin_eligible`: the admin-eligible roles of the catalog."}},
	{"retryAfterSeconds", &Schema{Type: "integer", Description: "429: seconds to wait before retrying (also the `Retry-After` header)."}},
	{"emailStatus", &Schema{Type: "object", Description: "`email_undeliverable`: the address's status (`status`, `at`, `reason`: hard_bounce, suppressed or complaint)."}},
}

// fieldAliases gives the type of a field another schema name, where one Go type is validated
// differently in two places (OwnerInput: all optional in a PATCH, names and email required on
// create).
var fieldAliases = map[string]string{
	"CreateAccountInput.owner": "NewOwnerInput",
}

// Enumerations and constraints the Go types cannot carry.
var (
	accountTypes     = []any{domain.AccountCustomer, domain.AccountPartner}
	memberRoles      = []any{domain.RoleOwner, domain.RoleUser}
	invitationKinds  = []any{domain.KindUser, domain.KindWelcome, domain.KindOwner}
	invitationStates = []any{domain.StatusPending, domain.StatusAccepted, domain.StatusRevoked, domain.StatusExpired}
	deliveryStates   = []any{domain.DeliverySent, domain.DeliveryFailed, domain.DeliveryDelivered, domain.DeliveryBounced,
		domain.DeliveryComplained, domain.DeliveryDelayed, domain.DeliveryRejected}
	emailStates = []any{domain.EmailUndeliverable}
)

// enum returns a fix that limits a string field to values.
func enum(values []any) func(*Schema) *Schema {
	return func(s *Schema) *Schema {
		s.Enum = append([]any{}, values...)
		if s.nullable {
			s.Enum = append(s.Enum, nil)
		}
		return s
	}
}

// minItems returns a fix that requires at least n items of an array, none repeated.
func minItems(n int) func(*Schema) *Schema {
	return func(s *Schema) *Schema {
		s.MinItems = intp(n)
		s.UniqueItems = true
		return s
	}
}

// notNull returns a fix that refuses null (validation answers 400 "is required" for it), after
// the fixes in then.
func notNull(then ...func(*Schema) *Schema) func(*Schema) *Schema {
	return func(s *Schema) *Schema {
		for _, f := range then {
			s = f(s)
		}
		if t, ok := s.Type.([]string); ok {
			s.Type = t[0]
		}
		s.Enum = slices.DeleteFunc(s.Enum, func(v any) bool { return v == nil })
		if len(s.Enum) == 0 {
			s.Enum = nil
		}
		s.nullable = false
		return s
	}
}

// unique is a fix for a list whose entries may not repeat.
func unique(s *Schema) *Schema {
	s.UniqueItems = true
	return s
}

// fieldFixes add enumerations and list constraints to fields, by "Schema.field"; string limits
// come from the validation's own table, domain.Limits.
var fieldFixes = map[string]func(*Schema) *Schema{
	"Account.type":                       enum(accountTypes),
	"AccountSummary.type":                enum(accountTypes),
	"CreateAccountInput.type":            enum(accountTypes),
	"UpdateAccountInput.type":            notNull(enum(accountTypes)),
	"UpdateAccountInput.name":            notNull(),
	"UpdateAccountInput.ownerEmailTypes": unique,
	"NewOwnerInput.firstName":            notNull(),
	"NewOwnerInput.lastName":             notNull(),
	"NewOwnerInput.email":                notNull(),
	"OwnerInput.firstName":               notNull(),
	"OwnerInput.lastName":                notNull(),
	"OwnerInput.email":                   notNull(),
	"User.role":                          enum(memberRoles),
	"MyAccount.role":                     enum(memberRoles),
	"UpdateUserInput.permissions":        unique,
	"Invitation.kind":                    enum(invitationKinds),
	"Invitation.status":                  enum(invitationStates),
	"InvitationView.kind":                enum(invitationKinds),
	"InvitationView.status":              enum(invitationStates),
	"Delivery.status":                    enum(deliveryStates),
	"DeliveryEvent.status":               enum(deliveryStates),
	"EmailStatus.status":                 enum(emailStates),
	"CreateInvitationInput.permissions":  unique,
	"CreateInvitationInput.expiresInDays": func(s *Schema) *Schema {
		s.Minimum, s.Maximum, s.Default = intp(domain.MinInvitationDays), intp(domain.MaxInvitationDays), domain.DefaultInvitationDays
		return s
	},
	"CreateContactInput.emailTypes": unique,
	"UpdateContactInput.email":      notNull(),
	"UpdateContactInput.emailTypes": unique,
	"RelationshipInput.roles":       minItems(1),
	"RelationshipRow.roles":         minItems(1),
}

// problemName is the component name of the problem schema.
const problemName = "Problem"

// problemTypeBase is where problem type URIs start.
var problemTypeBase = httpapi.ProblemTypeBase
