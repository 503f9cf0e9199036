package contract

import (
	"fmt"
	"net/http"

	"rollcall/shared/apperr"
	"rollcall/shared/catalog"
	"rollcall/shared/domain"
	"rollcall/shared/store"
)

// This file declares every operation of the route table (routes.All): its request body, query
// parameters, answers and problem codes, and the prose the API documents show. To add a route:
// add it to routes.All, declare it here (the tests fail until both exist), write its handler
// in shared/handlers, and run make docs.
//
// Example: a list with a new filter ?flag= declares the parameter once and lists it
//
//	qFlag = Param{"flag", "string", nil, nil, nil, []string{"a", "b"}, "Only items with this flag."}
//	"list-things": {..., Query: paging(qFlag), Answers: ok(typeOf[store.Page[domain.Thing]]())},
//
// and the handler reads it with r.Query("flag") (reading an undeclared one is an internal
// error, and the response-validation tests fail). A new response field is a field of the Go
// type with its json tag; its limits come from shared/domain (see domain.Limits).

// Query parameters; Limit and Cursor are those of every list.
var (
	Limit = Param{"limit", "integer", intp(1), intp(store.MaxLimit), store.DefaultLimit, nil,
		fmt.Sprintf("Page size, 1 to %d (default %d).", store.MaxLimit, store.DefaultLimit)}
	Cursor = Param{"cursor", "string", nil, nil, nil, nil,
		"The `nextCursor` of the previous page. Opaque; a cursor of another list or account, or a tampered one, is 400."}
	qPrefix = Param{"prefix", "string", nil, nil, nil, nil, "Only accounts whose name starts with this text (case-insensitive)."}
	qStatus = Param{"status", "string", nil, nil, nil, []string{domain.StatusPending, domain.StatusAccepted, domain.StatusRevoked, domain.StatusExpired},
		"Only invitations with this status (a pending invitation past its expiry is `expired`)."}
	qEmailType   = Param{"emailType", "string", nil, nil, nil, nil, "Only contacts that receive this email type (a name from `GET /catalog`); an unknown type is 400."}
	qText        = Param{"q", "string", nil, nil, nil, nil, "Only contacts whose first name, last name or email contains this text (case-insensitive)."}
	qEmailStatus = Param{"emailStatus", "string", nil, nil, nil, []string{domain.EmailUndeliverable},
		"Only contacts whose address is undeliverable (it hard-bounced or complained; see `emailStatus`). One Query of a sparse index, " +
			"eventually consistent: a contact marked a moment ago may take a moment to appear."}
)

// paging is the query of a list, with its extra filters.
func paging(extra ...Param) []Param { return append([]Param{Limit, Cursor}, extra...) }

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

// ops declares, by route Function, what each operation takes and answers.
var ops = map[string]Operation{
	// Catalog & me.
	"get-catalog": {
		Group: "catalog", Summary: "Get the stage's catalog", Rules: []string{"R8", "R18", "R21"},
		About: "The contact roles (with whether each is unique per site and admin-eligible), the permissions (built in " +
			"and the stage's own) and the email types (with whether each needs a recipient at all times) of this stage. " +
			"Role, permission and email type names elsewhere in the API come from it.",
		Answers: ok(typeOf[catalog.Catalog]()),
	},
	"list-my-accounts": {
		Group: "catalog", Summary: "List the caller's accounts", Rules: []string{"R6"},
		About: "Every account the calling login is a member of, with its role (`owner` or `user`), permissions and " +
			"admin flag in each. Operators list all accounts with `GET /accounts`.",
		Query: paging(), Answers: ok(typeOf[store.Page[store.MyAccount]]()),
	},

	// Accounts.
	"list-accounts": {
		Group: "accounts", Summary: "List accounts",
		About: "All accounts, ordered by name (case-insensitive).",
		Query: paging(qPrefix), Answers: ok(typeOf[store.Page[domain.Account]]()),
	},
	"create-account": {
		Group: "accounts", Summary: "Create an account", Rules: []string{"R1", "R2", "R20"},
		About: "Creates the account with its main support site and an `owner` invitation to the owner's email; " +
			"accepting that invitation makes the accepting login the owner. `type` defaults to `customer`. " +
			"The owner receives every email type.",
		Body: typeOf[domain.CreateAccountInput](), Idempotent: true,
		Answers: []Answer{{Status: http.StatusCreated, Body: typeOf[domain.Account](), ETag: true}},
		Notes: []string{"The main site is named `<name> Main Site`, or `<name> – Legacy <legacyId> – Main Site` when " +
			"the account has a legacy id, and follows renames (R20)."},
	},
	"get-account": {
		Group: "accounts", Summary: "Get an account", Rules: []string{"R1"},
		About: "Any member of the account may read it. `emailStatus` says that the owner's address hard-bounced or " +
			"complained; `warnings` lists each required email type (R18) none of whose recipients (the owner and the " +
			"contacts that receive it) can receive email any more (code `no_deliverable_recipient`).",
		Answers:  okTag(typeOf[domain.Account]()),
		NotFound: []string{"account"},
	},
	"update-account": {
		Group: "accounts", Summary: "Update an account", Rules: []string{"R1", "R4", "R18", "R20"},
		About: notePatch + " The owner may change the owner details, the owner's email and `ownerEmailTypes`; " +
			"`name`, `type` and `legacyId` only an operator may change.",
		Body: typeOf[domain.UpdateAccountInput](), IfMatch: true,
		Answers:   okTag(typeOf[domain.Account]()),
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
		Body: typeOf[domain.TransferInput](), Idempotent: true, Answers: okTag(typeOf[domain.Account]()),
		NotFound:  []string{"account", "user (`userId` is not a member)"},
		Conflicts: []string{apperr.CodeConflict},
		Notes:     []string{"409 `conflict` when the user is the owner already. The last owner can never be removed or demoted (R5)."},
	},
	"list-users": {
		Group: "users", Summary: "List users", Rules: []string{"R6", "R7"},
		About: "The members of the account, owner included.",
		Query: paging(), Answers: ok(typeOf[store.Page[domain.User]]()),
		NotFound: []string{"account"},
	},
	"get-user": {
		Group: "users", Summary: "Get a user", Rules: []string{"R7"},
		About:    "One member of the account, by login subject.",
		Answers:  ok(typeOf[domain.User]()),
		NotFound: []string{"account", "user"},
	},
	"update-user": {
		Group: "users", Summary: "Set a user's permissions", Rules: []string{"R7", "R8"},
		About: "Replaces the user's permissions with the list given: names from the catalog, none repeated; it may be " +
			"empty. The owner's cannot be changed.",
		Body: typeOf[domain.UpdateUserInput](), IfMatch: true, Answers: ok(typeOf[domain.User]()),
		NotFound:  []string{"account", "user"},
		Conflicts: []string{apperr.CodeOwnerProtected},
		Notes:     []string{"Memberships carry no version and reads of users give no `ETag`: any `If-Match` but `*` is 412."},
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
		Answers:   ok(typeOf[domain.User]()),
		NotFound:  []string{"account", "user"},
		Conflicts: []string{apperr.CodeNotAdminEligible},
		Notes: []string{"When the linked contact loses its last admin-eligible role, the admin flag is cleared in the " +
			"same transaction (R9). 409 `not_admin_eligible` lists the eligible roles in `eligibleRoles`."},
	},
	"revoke-admin": {
		Group: "users", Summary: "Revoke admin privileges", Rules: []string{"R9"},
		About:    "Takes the admin flag from the user. A user who is no admin is answered as is.",
		Answers:  ok(typeOf[domain.User]()),
		NotFound: []string{"account", "user"},
	},

	// Invitations.
	"list-invitations": {
		Group: "invitations", Summary: "List invitations", Rules: []string{"R10", "R11"},
		About: "The account's invitations, oldest first, with their status as of now. Ended invitations are kept as " +
			"history.",
		Query: paging(qStatus), Answers: ok(typeOf[store.Page[domain.Invitation]]()),
		NotFound: []string{"account"},
		Notes:    []string{noteFiltered},
	},
	"create-invitation": {
		Group: "invitations", Summary: "Invite a user", Rules: []string{"R10", "R11", "R4", "R13"},
		About: fmt.Sprintf("Invites an email to join the account as a user with the permissions given (names from "+
			"the catalog; the list may be empty). The invitation expires after `expiresInDays` days (%d to %d, default %d) "+
			"and one email is sent.", domain.MinInvitationDays, domain.MaxInvitationDays, domain.DefaultInvitationDays),
		Body: typeOf[domain.CreateInvitationInput](), Idempotent: true,
		Answers:   created(typeOf[domain.Invitation]()),
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
			"`sendCount` goes up. Works on expired invitations too. The body is optional: `{\"force\": true}` sends to " +
			"an address that hard-bounced or complained, which is otherwise 409 `email_undeliverable`.",
		Body: typeOf[domain.ResendInput](), BodyOptional: true,
		Idempotent: true,
		Answers:    ok(typeOf[domain.Invitation]()),
		NotFound:   []string{"account", "invitation"},
		Conflicts:  []string{apperr.CodeConflict, apperr.CodeEmailUndeliverable},
		TooMany:    []string{apperr.CodeResendTooSoon},
		Notes: []string{fmt.Sprintf("At most once per %d s per invitation: 429 `resend_too_soon` with `Retry-After` and "+
			"`retryAfterSeconds`. An accepted or revoked invitation is 409 `conflict`.", int(domain.ResendInterval.Seconds()))},
	},
	"revoke-invitation": {
		Group: "invitations", Summary: "Revoke an invitation", Rules: []string{"R14", "R11"},
		About: "Ends a pending invitation at once; its link stops working and the email may be invited again. The " +
			"answer is the revoked invitation.",
		Answers:   ok(typeOf[domain.Invitation]()),
		NotFound:  []string{"account", "invitation"},
		Conflicts: []string{apperr.CodeConflict},
		Notes:     []string{"An invitation that has already ended (accepted or revoked) is 409 `conflict`."},
	},
	"lookup-invitation": {
		Group: "invitations", Summary: "Look up an invitation", Rules: []string{"R13", "R15"},
		About: "What an invitation link invites to, for a \"join as X\" screen: account name, inviter, invited email, " +
			"kind, permissions, expiry and status. The token is the `token` query parameter of the email's link. " +
			"Ended invitations answer 200 with their status, so that the screen can say so.",
		Body: typeOf[domain.TokenInput](), Answers: ok(typeOf[domain.InvitationView]()),
		BadRequest: []string{apperr.CodeInvalidToken},
		Notes:      []string{"400 `invalid_token`: the token is malformed, tampered with, or replaced by a resend (R14, R15)."},
	},
	"accept-invitation": {
		Group: "invitations", Summary: "Accept an invitation", Rules: []string{"R12", "R2", "R4", "R15", "R22"},
		About: "Makes the calling login a member as the invitation says; the answer is the new membership. The login's " +
			"email may differ from the invited one: the membership records both (`email`, `invitedEmail`). A `user` " +
			"invitation grants its permissions, an `owner` invitation makes the caller the owner (R2), a `welcome` " +
			"invitation links the new user to its contact (`contactId`, R22). A token works once.",
		Body: typeOf[domain.TokenInput](), Idempotent: true, Answers: created(typeOf[domain.User]()),
		NotFound:   []string{"account (it no longer exists)"},
		Forbidden:  []string{apperr.CodeEmailNotVerified},
		Forbids:    "the caller's token carries no verified email (`email_verified` true)",
		BadRequest: []string{apperr.CodeInvalidToken},
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
		Query: paging(qEmailType, qText, qEmailStatus), Answers: ok(typeOf[store.Page[domain.Contact]]()),
		NotFound: []string{"account"},
		Notes:    []string{noteFiltered},
	},
	"create-contact": {
		Group: "contacts", Summary: "Create a contact", Rules: []string{"R16", "R17", "R19"},
		About: "Adds a contact. It receives no email type unless `emailTypes` names some (names from the catalog).",
		Body:  typeOf[domain.CreateContactInput](), Idempotent: true,
		Answers:   []Answer{{Status: http.StatusCreated, Body: typeOf[domain.Contact](), ETag: true}},
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
			"answer lists, in order, the created contact (status 201) or the problem of each row.", MaxBatch),
		Body: typeOf[Batch[domain.CreateContactInput]](), Idempotent: true,
		Answers:   ok(typeOf[Results[domain.Contact]]()),
		NotFound:  []string{"account"},
		Forbidden: []string{apperr.CodeSupportCaseRequired},
		RowErrors: []RowError{
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
		Answers:  okTag(typeOf[domain.Contact]()),
		NotFound: []string{"account", "contact"},
	},
	"update-contact": {
		Group: "contacts", Summary: "Update a contact", Rules: []string{"R16", "R17", "R18"},
		About: notePatch + " `null` removes `firstName`, `lastName` or `phone`; `email` cannot be removed.",
		Body:  typeOf[domain.UpdateContactInput](), IfMatch: true,
		Answers:   okTag(typeOf[domain.Contact]()),
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
		Query: paging(), Answers: ok(typeOf[store.Page[domain.Site]]()),
		NotFound: []string{"account"},
	},
	"create-site": {
		Group: "sites", Summary: "Create a site", Rules: []string{"R20"},
		About: "Adds a further (not main) support site to the account.",
		Body:  typeOf[domain.CreateSiteInput](), Idempotent: true,
		Answers:  created(typeOf[domain.Site]()),
		NotFound: []string{"account"},
	},
	"list-site-contacts": {
		Group: "sites", Summary: "List a site's contacts", Rules: []string{"R21"},
		About: "The contacts related to the site, by contact id, each with its roles on the site.",
		Query: paging(), Answers: ok(typeOf[store.Page[domain.Relationship]]()),
		NotFound: []string{"account", "site"},
	},
	"put-relationship": {
		Group: "sites", Summary: "Relate a contact to a site", Rules: []string{"R21", "R22", "R9", "R16"},
		About: "Sets the contact's roles on the site (names from the catalog, at least one, none repeated): they " +
			"replace the roles it had. Answers 201 when it creates the relationship, 200 when it changes it (or it " +
			"had those roles already).",
		Body: typeOf[domain.RelationshipInput](),
		Answers: []Answer{
			{Status: http.StatusOK, Body: typeOf[domain.Relationship](), When: "the relationship existed: its roles are now those given"},
			{Status: http.StatusCreated, Body: typeOf[domain.Relationship](), When: "the relationship was created"},
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
			"from A to B. Each row succeeds or fails on its own (201 created, 200 changed, or its problem).", MaxBatch),
		Body: typeOf[Batch[domain.RelationshipRow]](), Idempotent: true,
		Answers:  ok(typeOf[Results[domain.Relationship]]()),
		NotFound: []string{"account", "site"},
		RowErrors: []RowError{
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
		Query: paging(), Answers: ok(typeOf[store.Page[domain.AuditEntry]]()),
		NotFound: []string{"account"},
	},
}
