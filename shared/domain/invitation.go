package domain

import "time"

// Invitation kinds (R13).
const (
	KindUser    = "user"
	KindWelcome = "welcome"
	KindOwner   = "owner"
)

// Invitation statuses (R10). An invitation is stored as pending; it reads as expired once its
// expiry has passed.
const (
	StatusPending  = "pending"
	StatusAccepted = "accepted"
	StatusRevoked  = "revoked"
	StatusExpired  = "expired"
)

// Invitation expiry (R10).
const (
	DefaultInvitationDays = 7
	MinInvitationDays     = 1
	MaxInvitationDays     = 30
)

// Delivery is the delivery status of an invitation's last email (DESIGN §4).
type Delivery struct {
	Status    string    `json:"status" dynamodbav:"status"` // sent or failed
	MessageID string    `json:"messageId,omitempty" dynamodbav:"messageId,omitempty"`
	Reason    string    `json:"reason,omitempty" dynamodbav:"reason,omitempty"`
	At        time.Time `json:"at" dynamodbav:"at"`
}

// Invitation invites an email to join an account (R10–R15). Nonce is the per-send random value
// the link's token is derived from (R15); it is never shown.
type Invitation struct {
	ID            string    `json:"id" dynamodbav:"id"`
	AccountID     string    `json:"accountId" dynamodbav:"accountId"`
	AccountName   string    `json:"-" dynamodbav:"accountName"` // for the email and the look-up
	Kind          string    `json:"kind" dynamodbav:"kind"`
	Email         string    `json:"email" dynamodbav:"email"`
	Permissions   []string  `json:"permissions" dynamodbav:"permissions"`
	Status        string    `json:"status" dynamodbav:"status"`
	ExpiresAt     time.Time `json:"expiresAt" dynamodbav:"expiresAt"`
	SendCount     int       `json:"sendCount" dynamodbav:"sendCount"`
	LastSentAt    time.Time `json:"lastSentAt" dynamodbav:"lastSentAt"`
	InvitedBy     Actor     `json:"invitedBy" dynamodbav:"invitedBy"`
	CreatedAt     time.Time `json:"createdAt" dynamodbav:"createdAt"`
	ContactID     string    `json:"contactId,omitempty" dynamodbav:"contactId,omitempty"`
	AcceptedBy    string    `json:"acceptedBy,omitempty" dynamodbav:"acceptedBy,omitempty"`
	AcceptedEmail string    `json:"acceptedEmail,omitempty" dynamodbav:"acceptedEmail,omitempty"`
	Delivery      *Delivery `json:"delivery,omitempty" dynamodbav:"delivery,omitempty"`
	Nonce         string    `json:"-" dynamodbav:"nonce"`
}

// EffectiveStatus is the status as callers see it at now: a pending invitation past its expiry
// is expired.
func (i Invitation) EffectiveStatus(now time.Time) string {
	if i.Status == StatusPending && !now.Before(i.ExpiresAt) {
		return StatusExpired
	}
	return i.Status
}

// NewOwnerInvitation is the invitation created with account a for its owner's email (R2).
func NewOwnerInvitation(id string, a Account, by Actor, nonce string, now time.Time) Invitation {
	return Invitation{
		ID: id, AccountID: a.ID, AccountName: a.Name, Kind: KindOwner, Email: a.Owner.Email,
		Permissions: []string{}, Status: StatusPending, ExpiresAt: now.Add(DefaultInvitationDays * 24 * time.Hour),
		SendCount: 1, LastSentAt: now, InvitedBy: by, CreatedAt: now, Nonce: nonce,
	}
}
