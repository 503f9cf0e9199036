package handlers

import (
	"context"

	"rollcall/shared/httpapi"
)

// Endpoint is one operation: the route table's Function and the API method that serves it. Each
// function's main passes its own Endpoint to Serve, so that its binary links that operation and
// no other (go tool nm shows it; sizes differ per function). The variables are initialised
// statically (a string and a method value): referencing one does not pull in the others, which
// only Endpoints (the local gateway and the tests) lists.
type Endpoint struct {
	Function string
	run      func(*API, context.Context, *httpapi.Request) (*httpapi.Response, error)
}

// The endpoints, in the route table's order.
var (
	GetCatalog            = Endpoint{"get-catalog", (*API).getCatalog}
	ListMyAccounts        = Endpoint{"list-my-accounts", (*API).listMyAccounts}
	LookupInvitation      = Endpoint{"lookup-invitation", (*API).lookupInvitation}
	AcceptInvitation      = Endpoint{"accept-invitation", (*API).acceptInvitation}
	ListAccounts          = Endpoint{"list-accounts", (*API).listAccounts}
	CreateAccount         = Endpoint{"create-account", (*API).createAccount}
	GetAccount            = Endpoint{"get-account", (*API).getAccount}
	UpdateAccount         = Endpoint{"update-account", (*API).updateAccount}
	TransferOwnership     = Endpoint{"transfer-ownership", (*API).transferOwnership}
	ListUsers             = Endpoint{"list-users", (*API).listUsers}
	GetUser               = Endpoint{"get-user", (*API).getUser}
	UpdateUser            = Endpoint{"update-user", (*API).updateUser}
	RemoveUser            = Endpoint{"remove-user", (*API).removeUser}
	GrantAdmin            = Endpoint{"grant-admin", (*API).grantAdmin}
	RevokeAdmin           = Endpoint{"revoke-admin", (*API).revokeAdmin}
	ListInvitations       = Endpoint{"list-invitations", (*API).listInvitations}
	CreateInvitation      = Endpoint{"create-invitation", (*API).createInvitation}
	ResendInvitation      = Endpoint{"resend-invitation", (*API).resendInvitation}
	RevokeInvitation      = Endpoint{"revoke-invitation", (*API).revokeInvitation}
	ListAudit             = Endpoint{"list-audit", (*API).listAudit}
	ListContacts          = Endpoint{"list-contacts", (*API).listContacts}
	CreateContact         = Endpoint{"create-contact", (*API).createContact}
	BatchCreateContacts   = Endpoint{"batch-create-contacts", (*API).batchCreateContacts}
	GetContact            = Endpoint{"get-contact", (*API).getContact}
	UpdateContact         = Endpoint{"update-contact", (*API).updateContact}
	DeleteContact         = Endpoint{"delete-contact", (*API).deleteContact}
	ListSites             = Endpoint{"list-sites", (*API).listSites}
	CreateSite            = Endpoint{"create-site", (*API).createSite}
	ListSiteContacts      = Endpoint{"list-site-contacts", (*API).listSiteContacts}
	BatchPutRelationships = Endpoint{"batch-put-relationships", (*API).batchPutRelationships}
	PutRelationship       = Endpoint{"put-relationship", (*API).putRelationship}
	DeleteRelationship    = Endpoint{"delete-relationship", (*API).deleteRelationship}
)

// Endpoints returns every endpoint, in the route table's order; the local gateway and the tests
// use it. Lambda functions must not: each serves one Endpoint.
func Endpoints() []Endpoint {
	return []Endpoint{
		GetCatalog,
		ListMyAccounts,
		LookupInvitation,
		AcceptInvitation,
		ListAccounts,
		CreateAccount,
		GetAccount,
		UpdateAccount,
		TransferOwnership,
		ListUsers,
		GetUser,
		UpdateUser,
		RemoveUser,
		GrantAdmin,
		RevokeAdmin,
		ListInvitations,
		CreateInvitation,
		ResendInvitation,
		RevokeInvitation,
		ListAudit,
		ListContacts,
		CreateContact,
		BatchCreateContacts,
		GetContact,
		UpdateContact,
		DeleteContact,
		ListSites,
		CreateSite,
		ListSiteContacts,
		BatchPutRelationships,
		PutRelationship,
		DeleteRelationship,
	}
}
