package main

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"rollcall/shared/apperr"
	"rollcall/shared/catalog"
	"rollcall/shared/domain"
	"rollcall/shared/handlers"
	"rollcall/shared/httpapi"
	"rollcall/shared/store"
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
var groups = []group{
	{"catalog", "Catalog & me", "What a stage offers, and which accounts the caller belongs to."},
	{"accounts", "Accounts", "Customer and partner accounts (tenants) and their owner details (R1–R4)."},
	{"users", "Users & ownership", "Logins with access to an account, their permissions, admin privileges and the owner (R3–R9)."},
	{"invitations", "Invitations", "Inviting users by email, and looking up and accepting invitations (R10–R15)."},
	{"contacts", "Contacts", "People of an account who receive email, with their email types (R16–R19)."},
	{"sites", "Sites & relationships", "Support sites and the contact roles that relate contacts to them (R20–R22)."},
	{"audit", "Audit", "The record of every change (R23)."},
}

// typeRef names the schema of a body: a Go type by reflection, or a hand-written schema for a
// shape that has no Go struct of its own (lists of batch rows and results).
type typeRef struct {
	Go   reflect.Type
	Name string                   // component name of a hand-written schema
	Make func(b *builder) *Schema // makes the hand-written schema
}

// goType is the typeRef of Go type T.
func goType[T any]() *typeRef { return &typeRef{Go: reflect.TypeFor[T]()} }

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

// ok, okTag, created and noContent are the usual success answers: 200, 200 with an ETag, 201
// and 204.
func ok(t *typeRef) []answer      { return []answer{{Status: http.StatusOK, Body: t}} }
func okTag(t *typeRef) []answer   { return []answer{{Status: http.StatusOK, Body: t, ETag: true}} }
func created(t *typeRef) []answer { return []answer{{Status: http.StatusCreated, Body: t}} }
func noContent() []answer         { return []answer{{Status: http.StatusNoContent}} }

// Query parameters.
var (
	qLimit = query{"limit", &Schema{Type: "integer", Minimum: intp(1), Maximum: intp(store.MaxLimit), Default: store.DefaultLimit},
		fmt.Sprintf("Page size, 1 to %d (default %d).", store.MaxLimit, store.DefaultLimit)}
	qCursor = query{"cursor", &Schema{Type: "string"},
		"The `nextCursor` of the previous page. Opaque; a cursor of another list or account, or a tampered one, is 400."}
	qPrefix = query{"prefix", &Schema{Type: "string"}, "Only accounts whose name starts with this text (case-insensitive)."}
	qStatus = query{"status", &Schema{Type: "string", Enum: []any{domain.StatusPending, domain.StatusAccepted, domain.StatusRevoked, domain.StatusExpired}},
		"Only invitations with this status (a pending invitation past its expiry is `expired`)."}
	qEmailType = query{"emailType", &Schema{Type: "string"}, "Only contacts that receive this email type (a name from `GET /catalog`); an unknown type is 400."}
	qText      = query{"q", &Schema{Type: "string"}, "Only contacts whose first name, last name or email contains this text (case-insensitive)."}
)

// paging is the query of a list, with its extra filters.
func paging(extra ...query) []query { return append([]query{qLimit, qCursor}, extra...) }

// Notes shared by several operations.
const (
	noteR16 = "First and last name are optional, but a contact that is to be related to a site should have both (R16): " +
		"portals should ask for them before relating the contact."
	noteR19 = "A partner account (`type: partner`) cannot add contacts itself: only an operator can. Others get 403 " +
		"`support_case_required`, which tells the caller to raise a support case (R19)."
	noteFiltered = "A filtered list reads a bounded part of the table per request, so a page can hold fewer than `limit` " +
		"items (even none) and still carry a `nextCursor`: keep following it until it is absent."
	noteR18 = "Every required email type must keep at least one recipient (the owner or a contact): a change that would " +
		"leave one with none is 409 `last_recipient`, naming the types (R18)."
	notePatch = "A partial update: absent fields are left alone, `null` removes an optional field, and `null` for a " +
		"required one is 400."
)

// ops maps each route's Function to what it takes and answers.
var ops = map[string]op{
	// Catalog & me.
	"get-catalog": {
		Group: "catalog", Summary: "Get the stage's catalog", Rules: []string{"R8", "R18", "R21"},
		About: "The contact roles (with whether each is unique per site and admin-eligible), the permissions (built in " +
			"and the stage's own) and the email types (with whether each needs a recipient at all times) of this stage. " +
			"Role, permission and email type names elsewhere in the API come from it.",
		Answers: ok(goType[catalog.Catalog]()),
	},
	"list-my-accounts": {
		Group: "catalog", Summary: "List the caller's accounts", Rules: []string{"R6"},
		About: "Every account the calling login is a member of, with its role (`owner` or `user`), permissions and " +
			"admin flag in each. Operators list all accounts with `GET /accounts`.",
		Query: paging(), Answers: ok(goType[store.Page[store.MyAccount]]()),
	},

	// Accounts.
	"list-accounts": {
		Group: "accounts", Summary: "List accounts",
		About: "All accounts, ordered by name (case-insensitive).",
		Query: paging(qPrefix), Answers: ok(goType[store.Page[domain.Account]]()),
	},
	"create-account": {
		Group: "accounts", Summary: "Create an account", Rules: []string{"R1", "R2", "R20"},
		About: "Creates the account with its main support site and an `owner` invitation to the owner's email; " +
			"accepting that invitation makes the accepting login the owner. `type` defaults to `customer`. " +
			"The owner receives every email type.",
		Body: goType[domain.CreateAccountInput](), Idempotent: true,
		Answers: []answer{{Status: http.StatusCreated, Body: goType[domain.Account](), ETag: true}},
		Notes: []string{"The main site is named `<name> Main Site`, or `<name> – Legacy <legacyId> – Main Site` when " +
			"the account has a legacy id, and follows renames (R20)."},
	},
	"get-account": {
		Group: "accounts", Summary: "Get an account", Rules: []string{"R1"},
		About:    "Any member of the account may read it.",
		Answers:  okTag(goType[domain.Account]()),
		NotFound: []string{"account"},
	},
	"update-account": {
		Group: "accounts", Summary: "Update an account", Rules: []string{"R1", "R4", "R18", "R20"},
		About: notePatch + " The owner may change the owner details, the owner's email and `ownerEmailTypes`; " +
			"`name`, `type` and `legacyId` only an operator may change.",
		Body: goType[domain.UpdateAccountInput](), IfMatch: true,
		Answers:   okTag(goType[domain.Account]()),
		NotFound:  []string{"account"},
		Forbids:   "an owner who is not an operator sends `name`, `type` or `legacyId`",
		Conflicts: []string{apperr.CodeEmailBelongsToUser, apperr.CodeLastRecipient},
		Notes: []string{
			"The owner's email may not be the email of any user of the account: 409 `email_belongs_to_user` (R4).",
			noteR18,
			"A rename also renames the main site (R20).",
		},
	},

	// Users and ownership.
	"transfer-ownership": {
		Group: "users", Summary: "Transfer ownership", Rules: []string{"R5", "R4"},
		About: "Makes an existing user of the account (`userId`, the login's subject) the owner. The old owner stays a " +
			"user with every permission of the catalog. The account's owner email becomes the new owner's login email, " +
			"so that it stays apart from every user's (R4); the other owner details are kept for the new owner to update.",
		Body: goType[domain.TransferInput](), Idempotent: true, Answers: okTag(goType[domain.Account]()),
		NotFound:  []string{"account", "user (`userId` is not a member)"},
		Conflicts: []string{apperr.CodeConflict},
		Notes:     []string{"409 `conflict` when the user is the owner already. The last owner can never be removed or demoted (R5)."},
	},
	"list-users": {
		Group: "users", Summary: "List users", Rules: []string{"R6", "R7"},
		About: "The members of the account, owner included.",
		Query: paging(), Answers: ok(goType[store.Page[domain.User]]()),
		NotFound: []string{"account"},
	},
	"get-user": {
		Group: "users", Summary: "Get a user", Rules: []string{"R7"},
		About:    "One member of the account, by login subject.",
		Answers:  ok(goType[domain.User]()),
		NotFound: []string{"account", "user"},
	},
	"update-user": {
		Group: "users", Summary: "Set a user's permissions", Rules: []string{"R7", "R8"},
		About: "Replaces the user's permissions with the list given: names from the catalog, none repeated; it may be " +
			"empty. The owner's cannot be changed.",
		Body: goType[domain.UpdateUserInput](), Answers: ok(goType[domain.User]()),
		NotFound:  []string{"account", "user"},
		Conflicts: []string{apperr.CodeOwnerProtected},
	},
	"remove-user": {
		Group: "users", Summary: "Remove a user", Rules: []string{"R7", "R3", "R5"},
		About: "Ends the membership: the login loses access, its email is free again (R4) and a contact linked to it is " +
			"unlinked. The owner cannot be removed: transfer ownership first.",
		Answers:   noContent(),
		NotFound:  []string{"account", "user"},
		Conflicts: []string{apperr.CodeOwnerProtected},
	},
	"grant-admin": {
		Group: "users", Summary: "Grant admin privileges", Rules: []string{"R9"},
		About: "Makes the user an admin: it then has " + codeList(domain.AdminPermissions) + " whatever its own " +
			"permissions. Only for a user whose linked contact holds an admin-eligible role (catalog: `adminEligible`) " +
			"on a site of the account. A user who is an admin already is answered as is.",
		Answers:   ok(goType[domain.User]()),
		NotFound:  []string{"account", "user"},
		Conflicts: []string{apperr.CodeNotAdminEligible},
		Notes: []string{"When the linked contact loses its last admin-eligible role, the admin flag is cleared in the " +
			"same transaction (R9). 409 `not_admin_eligible` lists the eligible roles in `eligibleRoles`."},
	},
	"revoke-admin": {
		Group: "users", Summary: "Revoke admin privileges", Rules: []string{"R9"},
		About:    "Takes the admin flag from the user. A user who is no admin is answered as is.",
		Answers:  ok(goType[domain.User]()),
		NotFound: []string{"account", "user"},
	},

	// Invitations.
	"list-invitations": {
		Group: "invitations", Summary: "List invitations", Rules: []string{"R10", "R11"},
		About: "The account's invitations, oldest first, with their status as of now. Ended invitations are kept as " +
			"history.",
		Query: paging(qStatus), Answers: ok(goType[store.Page[domain.Invitation]]()),
		NotFound: []string{"account"},
		Notes:    []string{noteFiltered},
	},
	"create-invitation": {
		Group: "invitations", Summary: "Invite a user", Rules: []string{"R10", "R11", "R4", "R13"},
		About: fmt.Sprintf("Invites an email to join the account as a user with the permissions given (names from "+
			"the catalog; the list may be empty). The invitation expires after `expiresInDays` days (%d to %d, default %d) "+
			"and one email is sent.", domain.MinInvitationDays, domain.MaxInvitationDays, domain.DefaultInvitationDays),
		Body: goType[domain.CreateInvitationInput](), Idempotent: true,
		Answers:   created(goType[domain.Invitation]()),
		NotFound:  []string{"account"},
		Conflicts: []string{apperr.CodeInvitationPending, apperr.CodeEmailBelongsToUser},
		Notes: []string{
			"At most one pending invitation per email per account: 409 `invitation_pending` names it in `invitationId` (R11).",
			"The owner's email and users' emails cannot be invited: 409 `email_belongs_to_user` (R4).",
		},
	},
	"resend-invitation": {
		Group: "invitations", Summary: "Resend an invitation", Rules: []string{"R14"},
		About: "Sends the invitation again with a new link: the previous link stops working, the expiry is reset and " +
			"`sendCount` goes up. Works on expired invitations too.",
		Idempotent: true,
		Answers:    ok(goType[domain.Invitation]()),
		NotFound:   []string{"account", "invitation"},
		Conflicts:  []string{apperr.CodeConflict},
		TooMany:    []string{apperr.CodeResendTooSoon},
		Notes: []string{fmt.Sprintf("At most once per %d s per invitation: 429 `resend_too_soon` with `Retry-After` and "+
			"`retryAfterSeconds`. An accepted or revoked invitation is 409 `conflict`.", int(domain.ResendInterval.Seconds()))},
	},
	"revoke-invitation": {
		Group: "invitations", Summary: "Revoke an invitation", Rules: []string{"R14", "R11"},
		About: "Ends a pending invitation at once; its link stops working and the email may be invited again. The " +
			"answer is the revoked invitation.",
		Answers:   ok(goType[domain.Invitation]()),
		NotFound:  []string{"account", "invitation"},
		Conflicts: []string{apperr.CodeConflict},
		Notes:     []string{"An invitation that has already ended (accepted or revoked) is 409 `conflict`."},
	},
	"lookup-invitation": {
		Group: "invitations", Summary: "Look up an invitation", Rules: []string{"R13", "R15"},
		About: "What an invitation link invites to, for a \"join as X\" screen: account name, inviter, invited email, " +
			"kind, permissions, expiry and status. The token is the `token` query parameter of the email's link. " +
			"Ended invitations answer 200 with their status, so that the screen can say so.",
		Body: goType[domain.TokenInput](), Answers: ok(goType[domain.InvitationView]()),
		BadRequest: []string{apperr.CodeInvalidToken},
		Notes:      []string{"400 `invalid_token`: the token is malformed, tampered with, or replaced by a resend (R14, R15)."},
	},
	"accept-invitation": {
		Group: "invitations", Summary: "Accept an invitation", Rules: []string{"R12", "R2", "R4", "R15", "R22"},
		About: "Makes the calling login a member as the invitation says; the answer is the new membership. The login's " +
			"email may differ from the invited one: the membership records both (`email`, `invitedEmail`). A `user` " +
			"invitation grants its permissions, an `owner` invitation makes the caller the owner (R2), a `welcome` " +
			"invitation links the new user to its contact (`contactId`, R22). A token works once.",
		Body: goType[domain.TokenInput](), Idempotent: true, Answers: created(goType[domain.User]()),
		NotFound:   []string{"account (it no longer exists)"},
		BadRequest: []string{apperr.CodeInvalidToken},
		Forbids:    "the caller's token carries no verified email (`email_verified` true)",
		Forbidden:  []string{apperr.CodeEmailNotVerified},
		Gone:       []string{apperr.CodeInvitationExpired, apperr.CodeInvitationRevoked},
		Conflicts: []string{apperr.CodeInvitationUsed, apperr.CodeAlreadyMember, apperr.CodeEmailBelongsToUser,
			apperr.CodeConflict},
		Notes: []string{"409 `email_belongs_to_user` when the accepting login's email is the owner's or another user's " +
			"(R4); 409 `conflict` for an `owner` invitation when the account has an owner already (ownership moves only " +
			"by a transfer, R5), or a `welcome` invitation whose contact is gone or linked to another user."},
	},

	// Contacts.
	"list-contacts": {
		Group: "contacts", Summary: "List contacts", Rules: []string{"R16", "R18"},
		About: "The account's contacts in creation order. List items do not carry `relationships`; " +
			"`GET` one contact for them.",
		Query: paging(qEmailType, qText), Answers: ok(goType[store.Page[domain.Contact]]()),
		NotFound: []string{"account"},
		Notes:    []string{noteFiltered},
	},
	"create-contact": {
		Group: "contacts", Summary: "Create a contact", Rules: []string{"R16", "R17", "R19"},
		About: "Adds a contact. It receives no email type unless `emailTypes` names some (names from the catalog).",
		Body:  goType[domain.CreateContactInput](), Idempotent: true,
		Answers:   []answer{{Status: http.StatusCreated, Body: goType[domain.Contact](), ETag: true}},
		NotFound:  []string{"account"},
		Forbidden: []string{apperr.CodeSupportCaseRequired},
		Conflicts: []string{apperr.CodeContactEmailTaken},
		Notes: []string{
			noteR16,
			"A contact's email is unique within its account, compared case-insensitively after trimming: 409 " +
				"`contact_email_taken` names the existing contact in `contactId` (R17).",
			noteR19,
		},
	},
	"batch-create-contacts": {
		Group: "contacts", Summary: "Create contacts in a batch (\"Save & New\")", Rules: []string{"R19", "R16", "R17"},
		About: fmt.Sprintf("Creates up to %d contacts in one request. Each row succeeds or fails on its own; the "+
			"answer lists, in order, the created contact (status 201) or the problem of each row.", handlers.MaxBatch),
		Body: batchOf[domain.CreateContactInput]("ContactBatch"), Idempotent: true,
		Answers:   ok(resultsOf[domain.Contact]()),
		NotFound:  []string{"account"},
		Forbidden: []string{apperr.CodeSupportCaseRequired},
		RowErrors: []rowError{
			{http.StatusBadRequest, []string{apperr.CodeValidation}, "the row is not a valid contact"},
			{http.StatusConflict, []string{apperr.CodeContactEmailTaken}, "the email is taken by a contact, or repeats an earlier row of the batch (`contactId` names that row's new contact)"},
		},
		Notes: []string{
			"The caller's right to write (and the partner rule) is checked once for the whole request: a caller who may " +
				"not write gets one 403/404, not one error per row.",
			noteR16,
			noteR19,
		},
	},
	"get-contact": {
		Group: "contacts", Summary: "Get a contact", Rules: []string{"R16", "R21"},
		About:    "One contact, with its relationships (`relationships`: the sites it is related to, with its roles).",
		Answers:  okTag(goType[domain.Contact]()),
		NotFound: []string{"account", "contact"},
	},
	"update-contact": {
		Group: "contacts", Summary: "Update a contact", Rules: []string{"R16", "R17", "R18"},
		About: notePatch + " `null` removes `firstName`, `lastName` or `phone`; `email` cannot be removed.",
		Body:  goType[domain.UpdateContactInput](), IfMatch: true,
		Answers:   okTag(goType[domain.Contact]()),
		NotFound:  []string{"account", "contact"},
		Conflicts: []string{apperr.CodeContactEmailTaken, apperr.CodeLastRecipient},
		Notes:     []string{noteR16, noteR18},
	},
	"delete-contact": {
		Group: "contacts", Summary: "Delete a contact", Rules: []string{"R18", "R21", "R9"},
		About: "Deletes the contact with its relationships, frees the unique roles it held, and unlinks its user " +
			"(clearing that user's admin flag, R9).",
		IfMatch: true, Answers: noContent(),
		NotFound:  []string{"account", "contact"},
		Conflicts: []string{apperr.CodeLastRecipient},
		Notes:     []string{noteR18},
	},

	// Sites and relationships.
	"list-sites": {
		Group: "sites", Summary: "List sites", Rules: []string{"R20"},
		About: "The account's support sites, the main site included.",
		Query: paging(), Answers: ok(goType[store.Page[domain.Site]]()),
		NotFound: []string{"account"},
	},
	"create-site": {
		Group: "sites", Summary: "Create a site", Rules: []string{"R20"},
		About: "Adds a further (not main) support site to the account.",
		Body:  goType[domain.CreateSiteInput](), Idempotent: true,
		Answers:  created(goType[domain.Site]()),
		NotFound: []string{"account"},
	},
	"list-site-contacts": {
		Group: "sites", Summary: "List a site's contacts", Rules: []string{"R21"},
		About: "The contacts related to the site, by contact id, each with its roles on the site.",
		Query: paging(), Answers: ok(goType[store.Page[domain.Relationship]]()),
		NotFound: []string{"account", "site"},
	},
	"put-relationship": {
		Group: "sites", Summary: "Relate a contact to a site", Rules: []string{"R21", "R22", "R9", "R16"},
		About: "Sets the contact's roles on the site (names from the catalog, at least one, none repeated): they " +
			"replace the roles it had. Answers 201 when it creates the relationship, 200 when it changes it (or it " +
			"had those roles already).",
		Body: goType[domain.RelationshipInput](),
		Answers: []answer{
			{Status: http.StatusOK, Body: goType[domain.Relationship](), When: "the relationship existed: its roles are now those given"},
			{Status: http.StatusCreated, Body: goType[domain.Relationship](), When: "the relationship was created"},
		},
		NotFound:  []string{"account", "site", "contact"},
		Conflicts: []string{apperr.CodeRoleTaken},
		Notes: []string{
			"A role marked `uniquePerSite` in the catalog (`Primary` by default) is held by one contact per site: 409 " +
				"`role_taken` names the holder in `contactId` and the role in `role`. To move it, first give the holder " +
				"other roles, then give the role to the new contact (a batch can do both in one request).",
			"When a contact's first relationship is saved and it is not yet a user, a `welcome` invitation is sent to " +
				"its email (R22), unless that email has a pending invitation or is a user's or the owner's.",
			"When the contact loses its last admin-eligible role, its user's admin flag is cleared (R9).",
			noteR16,
		},
	},
	"delete-relationship": {
		Group: "sites", Summary: "Remove a contact from a site", Rules: []string{"R21", "R9"},
		About:    "Removes the relationship and frees the unique roles it held.",
		Answers:  noContent(),
		NotFound: []string{"account", "site", "contact", "relationship"},
		Notes:    []string{"When the contact loses its last admin-eligible role, its user's admin flag is cleared (R9)."},
	},
	"batch-put-relationships": {
		Group: "sites", Summary: "Relate contacts to a site in a batch", Rules: []string{"R21", "R22"},
		About: fmt.Sprintf("Up to %d rows, each a PUT of one contact's roles on the site, applied one after another "+
			"in order, so that a later row sees the earlier ones: `[{A, [Secondary]}, {B, [Primary]}]` moves `Primary` "+
			"from A to B. Each row succeeds or fails on its own (201 created, 200 changed, or its problem).", handlers.MaxBatch),
		Body: batchOf[domain.RelationshipRow]("RelationshipBatch"), Idempotent: true,
		Answers:  ok(resultsOf[domain.Relationship]()),
		NotFound: []string{"account", "site"},
		RowErrors: []rowError{
			{http.StatusBadRequest, []string{apperr.CodeValidation}, "the row's `contactId` or `roles` are not valid"},
			{http.StatusNotFound, []string{apperr.CodeNotFound}, "the contact does not exist"},
			{http.StatusConflict, []string{apperr.CodeRoleTaken}, "a unique role is held by another contact"},
		},
		Notes: []string{"Rows commit one by one: a failed row does not undo the rows before it."},
	},

	// Audit.
	"list-audit": {
		Group: "audit", Summary: "List the audit log", Rules: []string{"R23"},
		About: "Every change to the account, newest first: who (login and email, or operator), what (operation and " +
			"target ids), when, and the changed fields (never tokens). Entries are kept 400 days.",
		Query: paging(), Answers: ok(goType[store.Page[domain.AuditEntry]]()),
		NotFound: []string{"account"},
	},
}

// batchOf is the body of a batch of rows of type T, {items: [T, ...]}, as schema name.
func batchOf[T any](name string) *typeRef {
	row := reflect.TypeFor[T]()
	return &typeRef{Name: name, Make: func(b *builder) *Schema {
		return &Schema{
			Type:        "object",
			Description: fmt.Sprintf("A batch of 1 to %d rows, each a %s.", handlers.MaxBatch, componentName(row)),
			Properties: props{{"items", &Schema{Type: "array", Items: b.schema(row, requestMode),
				MinItems: intp(1), MaxItems: intp(handlers.MaxBatch)}}},
			Required:             []string{"items"},
			AdditionalProperties: false,
		}
	}}
}

// resultsOf is the answer of a batch whose rows make items of type T: {results: [...]}, each
// result a handlers.BatchResult whose item is a T and whose error is a problem.
func resultsOf[T any]() *typeRef {
	item := reflect.TypeFor[T]()
	return &typeRef{Name: componentName(item) + "BatchResults", Make: func(b *builder) *Schema {
		row := b.object(reflect.TypeFor[handlers.BatchResult](), "", answerMode)
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
				b.fail("handlers.BatchResult has no JSON field %q: update resultsOf in the generator", want)
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
	Status  int
	Meaning string
}

// codeDocs describes every problem code of apperr; the generator stops when apperr has a code
// this table lacks (or the other way round), so that the list in api.md stays complete.
var codeDocs = map[string]codeDoc{
	apperr.CodeValidation:          {400, "The request is not valid: `errors` lists each invalid field (body fields, query parameters, `If-Match`, `Idempotency-Key`)."},
	apperr.CodeInvalidToken:        {400, "The invitation token is malformed, tampered with, or replaced by a newer one (resend)."},
	apperr.CodeUnauthorized:        {401, "No valid bearer token."},
	apperr.CodeForbidden:           {403, "The caller is a member of the account but lacks the role or permission."},
	apperr.CodeSupportCaseRequired: {403, "A partner account's contacts are added by the vendor: raise a support case (R19)."},
	apperr.CodeEmailNotVerified:    {403, "Accepting an invitation needs a login whose email the identity provider has verified."},
	apperr.CodeNotFound:            {404, "No such item, or an account the caller is not a member of (never 403, so that account ids cannot be probed)."},
	apperr.CodeMethodNotAllowed:    {405, "A known path with another method (the local gateway; API Gateway answers 404)."},
	apperr.CodeConflict:            {409, "The item is not in a state that allows this (for example an invitation that has ended)."},
	apperr.CodeContactEmailTaken:   {409, "Another contact of the account has this email; `contactId` names it (R17)."},
	apperr.CodeLastRecipient:       {409, "The change would leave a required email type without a recipient; `emailTypes` names them (R18)."},
	apperr.CodeEmailBelongsToUser:  {409, "The email is the owner's or a user's of the account; `userId` names the user when it is one (R4)."},
	apperr.CodeInvitationPending:   {409, "The email has a pending invitation; `invitationId` names it (R11)."},
	apperr.CodeRoleTaken:           {409, "A unique role of the site is held by another contact; `contactId` and `role` name them (R21)."},
	apperr.CodeAlreadyMember:       {409, "The accepting login is already a member of the account (R12)."},
	apperr.CodeInvitationUsed:      {409, "The invitation has already been accepted (R12)."},
	apperr.CodeNotAdminEligible:    {409, "The user's linked contact holds no admin-eligible role; `eligibleRoles` lists them (R9)."},
	apperr.CodeOwnerProtected:      {409, "The owner cannot be changed or removed: transfer ownership first (R5)."},
	apperr.CodeInvitationExpired:   {410, "The invitation has expired: ask for a new one (R10)."},
	apperr.CodeInvitationRevoked:   {410, "The invitation was revoked (R14)."},
	apperr.CodePreconditionFailed:  {412, "`If-Match` does not match the item's current `ETag`: read it again."},
	apperr.CodeIdempotencyMismatch: {422, "The `Idempotency-Key` was already used with a different request."},
	apperr.CodeResendTooSoon:       {429, "The invitation was sent less than a minute ago; `retryAfterSeconds` and `Retry-After` say when to retry (R14)."},
	apperr.CodeTooManyRequests:     {429, "Too many requests: retry after `Retry-After` seconds."},
	apperr.CodeInternal:            {500, "An internal error; nothing about its cause is disclosed. Retry later."},
}

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

// typeDescriptions replace a type's doc comment where it speaks of Go rather than of the API.
var typeDescriptions = map[string]string{
	"NewOwnerInput":      "The owner details of a new account: first name, last name and email are required.",
	"OwnerInput":         "Owner details to change: absent fields are left alone; `null` removes phone, company or address.",
	"CreateContactInput": "The body of a contact create, and one row of a contact batch.",
	"UpdateContactInput": "The body of a contact update; `null` removes an optional field.",
	"UpdateAccountInput": "The body of an account update; `null` removes an optional field.",
	"CreateSiteInput":    "The body of a site create.",
	"TokenInput":         "The body of an invitation look-up or accept: the token from the invitation link.",
	"Relationship":       "A contact's roles on a site (R21). A contact's own `relationships` leave out `contactId`.",
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

// maxLen returns a fix that limits a string to n characters, with format f when not "".
func maxLen(n int, f string) func(*Schema) *Schema {
	return func(s *Schema) *Schema {
		s.MaxLength = intp(n)
		s.Format = f
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
		s.nullable = false
		return s
	}
}

// unique is a fix for a list whose entries may not repeat.
func unique(s *Schema) *Schema {
	s.UniqueItems = true
	return s
}

// fieldFixes add enumerations and limits to fields, by "Schema.field".
var fieldFixes = map[string]func(*Schema) *Schema{
	"Account.type":                       enum(accountTypes),
	"AccountSummary.type":                enum(accountTypes),
	"CreateAccountInput.type":            enum(accountTypes),
	"CreateAccountInput.name":            maxLen(domain.MaxNameLength, ""),
	"CreateAccountInput.legacyId":        maxLen(domain.MaxNameLength, ""),
	"UpdateAccountInput.type":            notNull(enum(accountTypes)),
	"UpdateAccountInput.name":            notNull(maxLen(domain.MaxNameLength, "")),
	"UpdateAccountInput.legacyId":        maxLen(domain.MaxNameLength, ""),
	"UpdateAccountInput.ownerEmailTypes": unique,
	"NewOwnerInput.firstName":            notNull(maxLen(domain.MaxNameLength, "")),
	"NewOwnerInput.lastName":             notNull(maxLen(domain.MaxNameLength, "")),
	"NewOwnerInput.email":                notNull(maxLen(domain.MaxEmailLength, "email")),
	"NewOwnerInput.company":              maxLen(domain.MaxTextLength, ""),
	"NewOwnerInput.address":              maxLen(domain.MaxTextLength, ""),
	"OwnerInput.firstName":               notNull(maxLen(domain.MaxNameLength, "")),
	"OwnerInput.lastName":                notNull(maxLen(domain.MaxNameLength, "")),
	"OwnerInput.email":                   notNull(maxLen(domain.MaxEmailLength, "email")),
	"OwnerInput.company":                 maxLen(domain.MaxTextLength, ""),
	"OwnerInput.address":                 maxLen(domain.MaxTextLength, ""),
	"User.role":                          enum(memberRoles),
	"MyAccount.role":                     enum(memberRoles),
	"UpdateUserInput.permissions":        unique,
	"Invitation.kind":                    enum(invitationKinds),
	"Invitation.status":                  enum(invitationStates),
	"InvitationView.kind":                enum(invitationKinds),
	"InvitationView.status":              enum(invitationStates),
	"Delivery.status":                    enum(deliveryStates),
	"CreateInvitationInput.email":        maxLen(domain.MaxEmailLength, "email"),
	"CreateInvitationInput.permissions":  unique,
	"CreateInvitationInput.expiresInDays": func(s *Schema) *Schema {
		s.Minimum, s.Maximum, s.Default = intp(domain.MinInvitationDays), intp(domain.MaxInvitationDays), domain.DefaultInvitationDays
		return s
	},
	"CreateContactInput.email":      maxLen(domain.MaxEmailLength, "email"),
	"CreateContactInput.firstName":  maxLen(domain.MaxNameLength, ""),
	"CreateContactInput.lastName":   maxLen(domain.MaxNameLength, ""),
	"CreateContactInput.emailTypes": unique,
	"UpdateContactInput.email":      notNull(maxLen(domain.MaxEmailLength, "email")),
	"UpdateContactInput.firstName":  maxLen(domain.MaxNameLength, ""),
	"UpdateContactInput.lastName":   maxLen(domain.MaxNameLength, ""),
	"UpdateContactInput.emailTypes": unique,
	"CreateSiteInput.name":          maxLen(2*domain.MaxNameLength, ""),
	"CreateSiteInput.legacyId":      maxLen(domain.MaxNameLength, ""),
	"RelationshipInput.roles":       minItems(1),
	"RelationshipRow.roles":         minItems(1),
}

// fieldDescriptions describe fields whose source comment is missing or speaks of Go, by
// "Schema.field", or "GoType.field" for every instance of a generic type.
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
}

// problemName is the component name of the problem schema.
const problemName = "Problem"

// problemTypeBase is where problem type URIs start.
var problemTypeBase = httpapi.ProblemTypeBase
