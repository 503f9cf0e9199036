package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"rollcall/shared/apperr"
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

// rowError is an error a batch row can get, inside a 200 answer.
type rowError struct {
	Status int
	Codes  []string
	When   string
}

// op is what the generator knows of one operation beyond its route.
type op struct {
	Group      string
	Summary    string
	About      string   // what it does, in markdown
	Rules      []string // the rules of DESIGN.md it implements
	Body       *typeRef
	Query      []query
	IfMatch    bool // honours If-Match (412 on a mismatch)
	Idempotent bool // honours Idempotency-Key (422 on a reuse with another request)
	Answers    []answer
	NotFound   []string // what may not be found (404 not_found)
	Forbidden  []string // 403 codes beyond forbidden
	Forbids    string   // when a 403 is given beyond the route's Who
	BadRequest []string // 400 codes beyond validation_failed
	Conflicts  []string // 409 codes
	Gone       []string // 410 codes
	TooMany    []string // 429 codes
	RowErrors  []rowError
	Notes      []string // further notes, in markdown
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
		x := op{Group: o.Group, Summary: o.Summary, About: o.About, Rules: o.Rules, Body: refOf(o.Body),
			IfMatch: o.IfMatch, Idempotent: o.Idempotent, NotFound: o.NotFound, Forbidden: o.Forbidden,
			Forbids: o.Forbids, BadRequest: o.BadRequest, Conflicts: o.Conflicts, Gone: o.Gone, TooMany: o.TooMany,
			Notes: o.Notes}
		for _, q := range o.Query {
			x.Query = append(x.Query, paramOf(q))
		}
		for _, a := range o.Answers {
			x.Answers = append(x.Answers, answer{Status: a.Status, Body: refOf(a.Body), When: a.When, ETag: a.ETag})
		}
		for _, r := range o.RowErrors {
			x.RowErrors = append(x.RowErrors, rowError(r))
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

// codeDoc says what a problem code means and the status it comes with.
type codeDoc struct {
	Code    string
	Status  int
	Meaning string
}

// problemCodes describes every problem code of apperr, in the order the document lists them; a
// test fails when apperr has a code this table lacks (or the other way round), so that the list
// in api.md stays complete.
var problemCodes = []codeDoc{
	{apperr.CodeValidation, 400, "The request is not valid: `errors` lists each invalid field (body fields, query parameters, `If-Match`, `Idempotency-Key`)."},
	{apperr.CodeUnauthorized, 401, "No valid bearer token."},
	{apperr.CodeForbidden, 403, "The caller is a member of the account but lacks the role or permission."},
	{apperr.CodeNotFound, 404, "No such item, or an account the caller is not a member of (never 403, so that account ids cannot be probed)."},
	{apperr.CodeMethodNotAllowed, 405, "A known path with another method (the local gateway; API Gateway answers 404)."},
	{apperr.CodeConflict, 409, "The item is not in a state that allows this (for example an invitation that has ended)."},
	{apperr.CodePreconditionFailed, 412, "`If-Match` does not match the item's current `ETag`: read it again."},
	{apperr.CodeIdempotencyMismatch, 422, "The `Idempotency-Key` was already used with a different request."},
	{apperr.CodeTooManyRequests, 429, "Too many requests: retry after `Retry-After` seconds."},
	{apperr.CodeContactEmailTaken, 409, "Another contact of the account has this email; `contactId` names it (R17)."},
	{apperr.CodeLastRecipient, 409, "The change would leave a required email type without a recipient; `emailTypes` names them (R18)."},
	{apperr.CodeSupportCaseRequired, 403, "A partner account's contacts are added by the vendor: raise a support case (R19)."},
	{apperr.CodeEmailBelongsToUser, 409, "The email is the owner's or a user's of the account; `userId` names the user when it is one (R4)."},
	{apperr.CodeInvitationPending, 409, "The email has a pending invitation; `invitationId` names it (R11)."},
	{apperr.CodeRoleTaken, 409, "A unique role of the site is held by another contact; `contactId` and `role` name them (R21)."},
	{apperr.CodeAlreadyMember, 409, "The accepting login is already a member of the account (R12)."},
	{apperr.CodeInvitationExpired, 410, "The invitation has expired: ask for a new one (R10)."},
	{apperr.CodeInvitationRevoked, 410, "The invitation was revoked (R14)."},
	{apperr.CodeInvitationUsed, 409, "The invitation has already been accepted (R12)."},
	{apperr.CodeInvalidToken, 400, "The invitation token is malformed, tampered with, or replaced by a newer one (resend)."},
	{apperr.CodeResendTooSoon, 429, "The invitation was sent less than a minute ago; `retryAfterSeconds` and `Retry-After` say when to retry (R14)."},
	{apperr.CodeNotAdminEligible, 409, "The user's linked contact holds no admin-eligible role; `eligibleRoles` lists them (R9)."},
	{apperr.CodeOwnerProtected, 409, "The owner cannot be changed or removed: transfer ownership first (R5)."},
	{apperr.CodeInternal, 500, "An internal error; nothing about its cause is disclosed. Retry later."},
	{apperr.CodeEmailNotVerified, 403, "Accepting an invitation needs a login whose email the identity provider has verified."},
}

// codeDocs is problemCodes by code.
var codeDocs = func() map[string]codeDoc {
	m := map[string]codeDoc{}
	for _, d := range problemCodes {
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
}

// Request bodies: the fields each requires, as the validation rules in shared/domain and
// shared/handlers say (the Go types cannot: absent and empty decode alike).
var requestRequired = map[string][]string{
	"CreateAccountInput":    {"name", "owner"},
	"NewOwnerInput":         {"firstName", "lastName", "email"},
	"TransferInput":         {"userId"},
	"UpdateUserInput":       {"permissions"},
	"CreateInvitationInput": {"email", "permissions"},
	"TokenInput":            {"token"},
	"CreateContactInput":    {"email"},
	"CreateSiteInput":       {"name"},
	"RelationshipInput":     {"roles"},
	"RelationshipRow":       {"contactId", "roles"},
}

// fieldAliases gives the type of a field another schema name, where one Go type is validated
// differently in two places (OwnerInput: all optional in a PATCH, names and email required on
// create).
var fieldAliases = map[string]string{
	"CreateAccountInput.owner": "NewOwnerInput",
}

// typeDescriptions describe every component schema (a Page's description is made from its item).
var typeDescriptions = map[string]string{
	"NewOwnerInput":         "The owner details of a new account: first name, last name and email are required.",
	"OwnerInput":            "Owner details to change: absent fields are left alone; `null` removes phone, company or address.",
	"CreateContactInput":    "The body of a contact create, and one row of a contact batch.",
	"UpdateContactInput":    "The body of a contact update; `null` removes an optional field.",
	"UpdateAccountInput":    "The body of an account update; `null` removes an optional field.",
	"CreateSiteInput":       "The body of a site create.",
	"TokenInput":            "The body of an invitation look-up or accept: the token from the invitation link.",
	"Relationship":          "A contact's roles on a site (R21). A contact's own `relationships` leave out `contactId`.",
	"Account":               "Account is a customer's or partner's tenant (R1).",
	"AccountSummary":        "AccountSummary is an account as GET /me/accounts lists it.",
	"Actor":                 "Actor is who made a change or an invitation: a login (with its email) or an operator.",
	"AuditEntry":            "AuditEntry records one change (R23): who, what, when and the changed fields.",
	"Catalog":               "Catalog is what GET /catalog answers.",
	"Contact":               "Contact is a person of an account who receives email (R16).",
	"CreateAccountInput":    "CreateAccountInput is the body of POST /accounts.",
	"CreateInvitationInput": "CreateInvitationInput is the body of POST /accounts/{id}/invitations.",
	"Delivery":              "Delivery is the delivery status of an invitation's last email (DESIGN §4).",
	"EmailType":             "EmailType is a kind of email a contact or the owner may receive (R18).",
	"FieldError":            "FieldError is one invalid field of a request body or query (JSON pointer style path).",
	"Invitation":            "Invitation invites an email to join an account (R10–R15).",
	"InvitationView":        "InvitationView is what the look-up shows a recipient before accepting (a \"join as X\" screen).",
	"MyAccount":             "MyAccount is one account of the calling login, as GET /me/accounts lists it.",
	"Owner":                 "Owner is the owner details of an account (R1).",
	"Permission":            "Permission is a user permission (R8).",
	"RelationshipInput":     "RelationshipInput is the body of PUT /accounts/{accountId}/sites/{siteId}/contacts/{contactId} (R21): the relationship's complete set of roles, which replaces the current one.",
	"RelationshipRow":       "RelationshipRow is one row of POST /accounts/{accountId}/sites/{siteId}/contacts/batch: a PUT of contact ContactID's relationship with the site of the path.",
	"Role":                  "Role is a contact role a relationship may hold (R21).",
	"Site":                  "Site is a support site of an account (R20).",
	"TransferInput":         "TransferInput is the body of POST /accounts/{id}/ownership (R5).",
	"UpdateUserInput":       "UpdateUserInput is the body of PATCH /accounts/{id}/users/{userId}.",
	"User":                  "User is a login's membership of an account (R6).",
}

// Enumerations and constraints the Go types cannot carry.
var (
	accountTypes     = []any{domain.AccountCustomer, domain.AccountPartner}
	memberRoles      = []any{domain.RoleOwner, domain.RoleUser}
	invitationKinds  = []any{domain.KindUser, domain.KindWelcome, domain.KindOwner}
	invitationStates = []any{domain.StatusPending, domain.StatusAccepted, domain.StatusRevoked, domain.StatusExpired}
	deliveryStates   = []any{"sent", "failed"}
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

// fieldDescriptions describe fields, by "Schema.field", "GoType.field" for every instance of a
// generic type, or "*.field" for every schema.
var fieldDescriptions = map[string]string{
	"*.accountId":                         "The account's id (`acc_…`).",
	"*.createdAt":                         "When it was created.",
	"*.updatedAt":                         "When it last changed.",
	"Delivery.status":                     "`sent` (with `messageId`) or `failed` (with `reason`).",
	"Delivery.messageId":                  "The email service's message id, once sent.",
	"Delivery.reason":                     "Why the email could not be sent.",
	"Delivery.at":                         "When the status was recorded.",
	"Account.name":                        "The account's name.",
	"Account.owner":                       "The owner's details (R1).",
	"Owner.email":                         "The owner's email; no user of the account may have it (R4).",
	"Contact.email":                       "The contact's email, unique in the account (compared case-insensitively, R17).",
	"Contact.phone":                       "The contact's phone number.",
	"UpdateContactInput.firstName":        "`null` removes it. A contact to be related to a site should have one (R16).",
	"UpdateContactInput.lastName":         "`null` removes it. A contact to be related to a site should have one (R16).",
	"UpdateContactInput.phone":            "`null` removes it.",
	"CreateContactInput.phone":            "Digits, spaces and `+ ( ) . -`.",
	"Site.name":                           "The site's name; the main site's follows the account's (R20).",
	"Site.legacyId":                       "The site's id in a legacy system, if any.",
	"Invitation.kind":                     "`user` (R10), `welcome` (a contact related to a site, R22) or `owner` (R2).",
	"Invitation.email":                    "The invited email.",
	"Invitation.expiresAt":                "When it expires; a resend resets it.",
	"Invitation.invitedBy":                "Who invited.",
	"InvitationView.invitedBy":            "Who invited.",
	"InvitationView.kind":                 "`user`, `welcome` or `owner`.",
	"InvitationView.expiresAt":            "When it expires.",
	"InvitationView.status":               "Its status now: only `pending` can be accepted.",
	"MyAccount.account":                   "The account.",
	"MyAccount.role":                      "The caller's role in it: `owner` or `user`.",
	"MyAccount.permissions":               "The caller's own permissions in it.",
	"MyAccount.admin":                     "Whether the caller has admin privileges in it (R9).",
	"Catalog.roles":                       "Contact roles a relationship may hold (R21).",
	"Catalog.permissions":                 "Permissions a user may hold (R8).",
	"Catalog.emailTypes":                  "Kinds of email a contact or the owner may receive (R18).",
	"Role.uniquePerSite":                  "Whether only one contact per site may hold it (R21).",
	"Role.adminEligible":                  "Whether a contact holding it makes its user eligible for admin privileges (R9).",
	"Permission.builtIn":                  "Whether rollcall enforces it; other permissions are stored for the vendor's other services (R8).",
	"EmailType.required":                  "Whether it must have at least one recipient at all times (R18).",
	"Account.id":                          "The account id (`acc_…`).",
	"Account.legacyId":                    "The account's id in a legacy system, if any.",
	"Account.ownerEmailTypes":             "The email types the owner receives (names from the catalog).",
	"Account.version":                     "The item's version: the `ETag` of reads, for `If-Match`.",
	"Account.type":                        "`customer` or `partner` (partners cannot add contacts themselves, R19).",
	"CreateAccountInput.type":             "`customer` (the default) or `partner`.",
	"CreateAccountInput.legacyId":         "The account's id in a legacy system; it shows in the main site's name.",
	"UpdateAccountInput.name":             "Operators only. Renames the main site too.",
	"UpdateAccountInput.type":             "Operators only.",
	"UpdateAccountInput.legacyId":         "Operators only; `null` removes it.",
	"UpdateAccountInput.owner":            "Owner details to change.",
	"UpdateAccountInput.ownerEmailTypes":  "The email types the owner receives; a required type must keep a recipient (R18).",
	"Contact.id":                          "The contact id (`con_…`).",
	"Contact.firstName":                   "Optional, but a contact to be related to a site should have one (R16).",
	"Contact.lastName":                    "Optional, but a contact to be related to a site should have one (R16).",
	"Contact.emailTypes":                  "The email types the contact receives (names from the catalog).",
	"Contact.version":                     "The item's version: the `ETag` of reads, for `If-Match`.",
	"Contact.relationships":               "The sites the contact is related to, with its roles: in `GET` of one contact only.",
	"CreateContactInput.firstName":        "Optional, but a contact to be related to a site should have one (R16).",
	"CreateContactInput.lastName":         "Optional, but a contact to be related to a site should have one (R16).",
	"CreateContactInput.emailTypes":       "Email types to receive (names from the catalog); none when absent.",
	"UpdateContactInput.email":            "A new email; it cannot be removed.",
	"UpdateContactInput.emailTypes":       "The email types to receive; `null` or `[]` for none.",
	"Site.id":                             "The site id (`site_…`).",
	"Site.main":                           "Whether it is the account's main site, made with the account (R20).",
	"CreateSiteInput.name":                "The site's name.",
	"CreateSiteInput.legacyId":            "The site's id in a legacy system.",
	"User.id":                             "The login's subject (`sub`): the user's id in paths.",
	"User.email":                          "The accepting login's email (or the invited email when the login has none).",
	"User.invitedEmail":                   "The email that was invited, when it differs.",
	"User.role":                           "`owner` or `user`.",
	"User.permissions":                    "The user's own permissions (names from the catalog).",
	"User.admin":                          "Admin privileges (R9): contacts:read, contacts:write and sites:write whatever `permissions` say.",
	"User.contactId":                      "The contact this user was welcomed as (R22).",
	"User.joinedAt":                       "When the user accepted its invitation.",
	"TransferInput.userId":                "The login subject of the user to become the owner.",
	"UpdateUserInput.permissions":         "The user's new permissions (names from the catalog); may be empty.",
	"Invitation.id":                       "The invitation id (`inv_…`).",
	"Invitation.permissions":              "The permissions the user gets on accepting.",
	"Invitation.status":                   "`pending`, `accepted`, `revoked` or `expired` (a pending invitation past its expiry).",
	"Invitation.expiresInDays":            "The validity a resend resets the expiry to.",
	"Invitation.sendCount":                "How many times the invitation was sent.",
	"Invitation.lastSentAt":               "When it was last sent.",
	"Invitation.contactId":                "`welcome` invitations: the contact accepting links the user to.",
	"Invitation.acceptedBy":               "The login subject that accepted it.",
	"Invitation.acceptedEmail":            "The accepting login's email.",
	"Invitation.delivery":                 "The delivery status of the last email, once known.",
	"CreateInvitationInput.permissions":   "The permissions to grant (names from the catalog); may be empty.",
	"CreateInvitationInput.expiresInDays": fmt.Sprintf("Days until the invitation expires (%d to %d).", domain.MinInvitationDays, domain.MaxInvitationDays),
	"Relationship.contactId":              "The contact; absent in a contact's own `relationships`.",
	"Relationship.roles":                  "Contact roles (names from the catalog).",
	"RelationshipInput.roles":             "The relationship's complete set of roles (names from the catalog): at least one, none repeated.",
	"RelationshipRow.contactId":           "The contact (`con_…`) to relate to the site of the path.",
	"RelationshipRow.roles":               "Its complete set of roles on the site: at least one, none repeated.",
	"AuditEntry.id":                       "The entry id (`aud_…`), time-sortable.",
	"AuditEntry.at":                       "When the change was made.",
	"AuditEntry.actor":                    "Who made it.",
	"AuditEntry.operation":                "What was done, for example `contact.create`.",
	"AuditEntry.targets":                  "The ids of the items changed, by kind.",
	"AuditEntry.changes":                  "The changed fields with their new values (never tokens).",
	"Actor.sub":                           "The login's subject.",
	"Actor.email":                         "The login's email, when its token had one.",
	"Actor.operator":                      "Whether the actor was an operator.",
	"InvitationView.accountName":          "The name of the account the invitation is for.",
	"InvitationView.invitedEmail":         "The email that was invited.",
	"InvitationView.permissions":          "The permissions the user gets on accepting.",
	"FieldError.field":                    "The invalid field: a JSON path such as `owner.email` or `roles[1]`, a query parameter, or a header; empty for the body as a whole.",
	"FieldError.message":                  "What is wrong with it.",
	"Page.items":                          "The page's items, in the list's order.",
	"Page.nextCursor":                     "The `cursor` of the next page; absent on the last page.",
	"Contact.userId":                      "The user linked by accepting the contact's welcome invitation (R22).",
}

// problemName is the component name of the problem schema.
const problemName = "Problem"

// problemTypeBase is where problem type URIs start.
var problemTypeBase = httpapi.ProblemTypeBase
