// Package routes holds rollcall's route table: every HTTP operation with its method, path,
// Lambda function name, who may call it and which DynamoDB actions its function needs. The CDK
// stack, the local gateway, the OpenAPI document and the authorisation tests all read this list;
// a route added here is deployed and served without touching them.
package routes

import "strings"

// Who says which callers a route admits before the operation itself looks at the account.
type Who int

const (
	// Anyone is any authenticated caller.
	Anyone Who = iota
	// Operator is a caller in the stage's operator group.
	Operator
	// Member is any member of the account in the path (or an operator).
	Member
	// Owner is the owner of the account in the path (or an operator).
	Owner
	// Permission is a member holding Route.Permission, the owner, an admin where the
	// permission is one an admin has (R9), or an operator.
	Permission
)

// Built-in permissions enforced by rollcall (R8).
const (
	ContactsRead  = "contacts:read"
	ContactsWrite = "contacts:write"
	SitesWrite    = "sites:write"
	AuditRead     = "audit:read"
)

// DynamoDB actions granted to functions (least privilege: each route lists what it uses).
const (
	GetItem            = "dynamodb:GetItem"
	BatchGetItem       = "dynamodb:BatchGetItem"
	Query              = "dynamodb:Query"
	PutItem            = "dynamodb:PutItem"
	UpdateItem         = "dynamodb:UpdateItem"
	TransactWriteItems = "dynamodb:TransactWriteItems"
	ConditionCheckItem = "dynamodb:ConditionCheckItem"
	DeleteItem         = "dynamodb:DeleteItem"
)

var (
	reads       = []string{GetItem, BatchGetItem, Query}
	transacts   = []string{GetItem, BatchGetItem, Query, TransactWriteItems, ConditionCheckItem, PutItem, UpdateItem, DeleteItem}
	createsOnly = []string{GetItem, TransactWriteItems, ConditionCheckItem, PutItem, UpdateItem}
	// contactCreates reads the caller's right once (BatchGetItem) before writing: a single create,
	// or a batch's rows.
	contactCreates = []string{GetItem, BatchGetItem, TransactWriteItems, ConditionCheckItem, PutItem, UpdateItem}
)

// Actions of the relationship and admin functions: each reads with one BatchGetItem (a list in
// parallel with its Query) and writes one transaction of condition checks, puts, updates and
// deletes; the batch also reads and writes its idempotency record.
var (
	siteContactsRead    = []string{BatchGetItem, Query}
	relationshipChanges = []string{BatchGetItem, TransactWriteItems, ConditionCheckItem, PutItem, UpdateItem, DeleteItem}
	relationshipBatch   = []string{GetItem, BatchGetItem, TransactWriteItems, ConditionCheckItem, PutItem, UpdateItem, DeleteItem}
	adminGrant          = []string{BatchGetItem, TransactWriteItems, ConditionCheckItem, PutItem, UpdateItem}
	adminRevoke         = []string{BatchGetItem, TransactWriteItems, PutItem, UpdateItem}
)

// Route is one operation of the HTTP API, served by its own Lambda function.
type Route struct {
	Method     string   // HTTP method
	Path       string   // API Gateway path with {parameters}
	Function   string   // function name: the folder under functions/ and the handler's key
	Who        Who      // who may call it
	Permission string   // the permission required when Who is Permission
	Actions    []string // DynamoDB actions the function needs on the table and its index
	Secret     bool     // whether it reads the invitation signing key (R15)
	Index      bool     // whether it queries GSI1
}

// Key is the API Gateway route key, "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

// All is the route table, grouped by resource: the login's own routes, accounts, users,
// invitations, audit, contacts, sites and relationships.
var All = []Route{
	{Method: "GET", Path: "/catalog", Function: "get-catalog", Who: Anyone},
	{Method: "GET", Path: "/me/accounts", Function: "list-my-accounts", Who: Anyone, Actions: reads, Index: true},
	{Method: "POST", Path: "/invitations/lookup", Function: "lookup-invitation", Who: Anyone, Actions: reads, Secret: true},
	{Method: "POST", Path: "/invitations/accept", Function: "accept-invitation", Who: Anyone, Actions: transacts, Secret: true},
	{Method: "GET", Path: "/accounts", Function: "list-accounts", Who: Operator, Actions: reads, Index: true},
	{Method: "POST", Path: "/accounts", Function: "create-account", Who: Operator, Actions: createsOnly},
	{Method: "GET", Path: "/accounts/{accountId}", Function: "get-account", Who: Member, Actions: reads, Index: true},
	{Method: "PATCH", Path: "/accounts/{accountId}", Function: "update-account", Who: Owner, Actions: transacts},
	{Method: "POST", Path: "/accounts/{accountId}/ownership", Function: "transfer-ownership", Who: Owner, Actions: transacts},
	{Method: "GET", Path: "/accounts/{accountId}/users", Function: "list-users", Who: Owner, Actions: reads},
	{Method: "GET", Path: "/accounts/{accountId}/users/{userId}", Function: "get-user", Who: Owner, Actions: reads},
	{Method: "PATCH", Path: "/accounts/{accountId}/users/{userId}", Function: "update-user", Who: Owner, Actions: transacts},
	{Method: "DELETE", Path: "/accounts/{accountId}/users/{userId}", Function: "remove-user", Who: Owner, Actions: transacts},
	{Method: "PUT", Path: "/accounts/{accountId}/users/{userId}/admin", Function: "grant-admin", Who: Operator, Actions: adminGrant},
	{Method: "DELETE", Path: "/accounts/{accountId}/users/{userId}/admin", Function: "revoke-admin", Who: Operator, Actions: adminRevoke},
	{Method: "GET", Path: "/accounts/{accountId}/invitations", Function: "list-invitations", Who: Owner, Actions: reads},
	{Method: "POST", Path: "/accounts/{accountId}/invitations", Function: "create-invitation", Who: Owner, Actions: createsOnly},
	{Method: "POST", Path: "/accounts/{accountId}/invitations/{invitationId}/resend", Function: "resend-invitation", Who: Owner, Actions: transacts},
	{Method: "DELETE", Path: "/accounts/{accountId}/invitations/{invitationId}", Function: "revoke-invitation", Who: Owner, Actions: transacts},
	{Method: "GET", Path: "/accounts/{accountId}/audit", Function: "list-audit", Who: Permission, Permission: AuditRead, Actions: reads},
	{Method: "GET", Path: "/accounts/{accountId}/contacts", Function: "list-contacts", Who: Permission, Permission: ContactsRead, Actions: reads, Index: true},
	{Method: "POST", Path: "/accounts/{accountId}/contacts", Function: "create-contact", Who: Permission, Permission: ContactsWrite, Actions: contactCreates},
	{Method: "POST", Path: "/accounts/{accountId}/contacts/batch", Function: "batch-create-contacts", Who: Permission, Permission: ContactsWrite, Actions: contactCreates},
	{Method: "GET", Path: "/accounts/{accountId}/contacts/{contactId}", Function: "get-contact", Who: Permission, Permission: ContactsRead, Actions: reads},
	{Method: "PATCH", Path: "/accounts/{accountId}/contacts/{contactId}", Function: "update-contact", Who: Permission, Permission: ContactsWrite, Actions: transacts},
	{Method: "DELETE", Path: "/accounts/{accountId}/contacts/{contactId}", Function: "delete-contact", Who: Permission, Permission: ContactsWrite, Actions: transacts},
	{Method: "GET", Path: "/accounts/{accountId}/sites", Function: "list-sites", Who: Permission, Permission: ContactsRead, Actions: reads, Index: true},
	{Method: "POST", Path: "/accounts/{accountId}/sites", Function: "create-site", Who: Operator, Actions: createsOnly},
	{Method: "GET", Path: "/accounts/{accountId}/sites/{siteId}/contacts", Function: "list-site-contacts", Who: Permission, Permission: ContactsRead, Actions: siteContactsRead},
	{Method: "POST", Path: "/accounts/{accountId}/sites/{siteId}/contacts/batch", Function: "batch-put-relationships", Who: Permission, Permission: SitesWrite, Actions: relationshipBatch},
	{Method: "PUT", Path: "/accounts/{accountId}/sites/{siteId}/contacts/{contactId}", Function: "put-relationship", Who: Permission, Permission: SitesWrite, Actions: relationshipChanges},
	{Method: "DELETE", Path: "/accounts/{accountId}/sites/{siteId}/contacts/{contactId}", Function: "delete-relationship", Who: Permission, Permission: SitesWrite, Actions: relationshipChanges},
}

// ByFunction returns the route served by function name, and whether there is one.
func ByFunction(name string) (Route, bool) {
	for _, r := range All {
		if r.Function == name {
			return r, true
		}
	}
	return Route{}, false
}

// Match finds the route for method and a concrete path and returns its path parameters.
// It returns ok=false when no route has that path; pathKnown reports whether some route has
// the path but with another method (405 rather than 404).
func Match(method, path string) (r Route, params map[string]string, ok, pathKnown bool) {
	parts := split(path)
	for _, cand := range All {
		p, hit := matchPath(split(cand.Path), parts)
		if !hit {
			continue
		}
		pathKnown = true
		if cand.Method == method {
			return cand, p, true, true
		}
	}
	return Route{}, nil, false, pathKnown
}

func split(path string) []string {
	return strings.Split(strings.Trim(path, "/"), "/")
}

func matchPath(pattern, parts []string) (map[string]string, bool) {
	if len(pattern) != len(parts) {
		return nil, false
	}
	params := map[string]string{}
	for i, seg := range pattern {
		if name, isParam := strings.CutPrefix(seg, "{"); isParam {
			if parts[i] == "" {
				return nil, false
			}
			params[strings.TrimSuffix(name, "}")] = parts[i]
			continue
		}
		if seg != parts[i] {
			return nil, false
		}
	}
	return params, true
}
