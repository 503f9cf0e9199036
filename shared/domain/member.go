package domain

import (
	"slices"
	"time"

	"rollcall/shared/catalog"
	"rollcall/shared/routes"
)

// Membership roles (R3, R6).
const (
	RoleOwner = "owner"
	RoleUser  = "user"
)

// AdminPermissions are the permissions an admin has whatever its own (R9).
var AdminPermissions = []string{routes.ContactsRead, routes.ContactsWrite, routes.SitesWrite}

// User is a login's membership of an account (R6).
type User struct {
	ID           string    `json:"id" dynamodbav:"id"`
	AccountID    string    `json:"accountId" dynamodbav:"accountId"`
	Email        string    `json:"email" dynamodbav:"email"`
	InvitedEmail string    `json:"invitedEmail,omitempty" dynamodbav:"invitedEmail,omitempty"`
	Role         string    `json:"role" dynamodbav:"role"`
	Permissions  []string  `json:"permissions" dynamodbav:"permissions"`
	Admin        bool      `json:"admin" dynamodbav:"admin"`
	ContactID    string    `json:"contactId,omitempty" dynamodbav:"contactId,omitempty"`
	JoinedAt     time.Time `json:"joinedAt" dynamodbav:"joinedAt"`
}

// Can reports whether the member may use permission perm: the owner may do everything, an admin
// has AdminPermissions, and a user has its own permissions (R3, R8, R9).
func (u User) Can(perm string) bool {
	switch {
	case u.Role == RoleOwner:
		return true
	case u.Admin && slices.Contains(AdminPermissions, perm):
		return true
	}
	return slices.Contains(u.Permissions, perm)
}

// UpdateUserInput is the body of PATCH /accounts/{id}/users/{userId}.
type UpdateUserInput struct {
	Permissions []string `json:"permissions"`
}

// TransferInput is the body of POST /accounts/{id}/ownership (R5).
type TransferInput struct {
	UserID string `json:"userId"`
}

// AllPermissions lists every permission of the catalog: what an old owner keeps after a
// transfer (R5).
func AllPermissions(cat catalog.Catalog) []string {
	out := make([]string, len(cat.Permissions))
	for i, p := range cat.Permissions {
		out[i] = p.Name
	}
	return out
}
