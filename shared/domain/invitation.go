package domain

import (
	"net/http"
	"time"

	"rollcall/shared/apperr"
	"rollcall/shared/catalog"
)

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

// Delivery statuses of an invitation's last email (DESIGN §4): sent or failed by the email
// function, then the SES events of the message (functions/ses-events).
const (
	DeliverySent       = "sent"
	DeliveryFailed     = "failed"
	DeliveryDelivered  = "delivered"
	DeliveryBounced    = "bounced"
	DeliveryComplained = "complained"
	DeliveryDelayed    = "delayed"
	DeliveryRejected   = "rejected"
)

// Delivery is the delivery status of an invitation's last email (DESIGN §4): its newest event,
// and a short history of the events of that email, oldest first.
type Delivery struct {
	Status    string          `json:"status" dynamodbav:"status"`
	MessageID string          `json:"messageId,omitempty" dynamodbav:"messageId,omitempty"`
	Reason    string          `json:"reason,omitempty" dynamodbav:"reason,omitempty"`
	At        time.Time       `json:"at" dynamodbav:"at"`
	History   []DeliveryEvent `json:"history,omitempty" dynamodbav:"history,omitempty"`
	Rev       int             `json:"-" dynamodbav:"rev,omitempty"` // bumped by each event written (optimistic concurrency)
}

// DeliveryEvent is one event of an email's delivery.
type DeliveryEvent struct {
	Status string    `json:"status" dynamodbav:"status"`
	At     time.Time `json:"at" dynamodbav:"at"`
	Reason string    `json:"reason,omitempty" dynamodbav:"reason,omitempty"`
}

// EmailUndeliverable is the status of an address that hard-bounced or complained: SES will not
// deliver to it (its suppression list) and sending again hurts the sender's reputation.
const EmailUndeliverable = "undeliverable"

// EmailStatus says that an address cannot receive email, since when and why (hard_bounce,
// complaint, suppressed). It is shown on contacts, on accounts (the owner's address) and on
// invitations; changing a contact's email clears it.
type EmailStatus struct {
	Status string    `json:"status" dynamodbav:"status"`
	At     time.Time `json:"at" dynamodbav:"at"`
	Reason string    `json:"reason,omitempty" dynamodbav:"reason,omitempty"`
}

// ResendInput is the optional body of POST …/invitations/{id}/resend.
type ResendInput struct {
	// Force sends to an address that hard-bounced or complained (EmailStatus), which is
	// otherwise 409 email_undeliverable.
	Force bool `json:"force"`
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
	ExpiresInDays int       `json:"expiresInDays" dynamodbav:"expiresInDays"` // what a resend resets the expiry to
	SendCount     int       `json:"sendCount" dynamodbav:"sendCount"`
	LastSentAt    time.Time `json:"lastSentAt" dynamodbav:"lastSentAt"`
	InvitedBy     Actor     `json:"invitedBy" dynamodbav:"invitedBy"`
	CreatedAt     time.Time `json:"createdAt" dynamodbav:"createdAt"`
	ContactID     string    `json:"contactId,omitempty" dynamodbav:"contactId,omitempty"`
	AcceptedBy    string    `json:"acceptedBy,omitempty" dynamodbav:"acceptedBy,omitempty"`
	AcceptedEmail string    `json:"acceptedEmail,omitempty" dynamodbav:"acceptedEmail,omitempty"`
	Delivery      *Delivery `json:"delivery,omitempty" dynamodbav:"delivery,omitempty"`
	// EmailStatus is set when the invited address hard-bounced or complained: a resend is then
	// refused (409 email_undeliverable) unless forced.
	EmailStatus *EmailStatus `json:"emailStatus,omitempty" dynamodbav:"emailStatus,omitempty"`
	Nonce       string       `json:"-" dynamodbav:"nonce"`
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
		Permissions: []string{}, Status: StatusPending, ExpiresAt: expiry(now, DefaultInvitationDays), ExpiresInDays: DefaultInvitationDays,
		SendCount: 1, LastSentAt: now, InvitedBy: by, CreatedAt: now, Nonce: nonce,
	}
}

// expiry is the expiry of an invitation sent at now for days, to the second: the pending guard
// and the list filters compare expiries in epoch seconds.
func expiry(now time.Time, days int) time.Time {
	return now.Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Second)
}

// ResendInterval is the least time between two sends of one invitation (R14).
const ResendInterval = 60 * time.Second

// CreateInvitationInput is the body of POST /accounts/{id}/invitations.
type CreateInvitationInput struct {
	Email         string   `json:"email"`
	Permissions   []string `json:"permissions"`
	ExpiresInDays *int     `json:"expiresInDays"`
}

// NewUserInvitation validates in and returns the invitation of a user to account accountID
// (R10): a known email, permissions from the catalog, an expiry of 1 to 30 days (7 by default).
// It returns a 400 listing every invalid field.
func NewUserInvitation(id, accountID string, in CreateInvitationInput, cat catalog.Catalog, by Actor, nonce string, now time.Time) (Invitation, error) {
	var p Problems
	inv := Invitation{ID: id, AccountID: accountID, Kind: KindUser, Status: StatusPending, SendCount: 1, LastSentAt: now,
		InvitedBy: by, CreatedAt: now, Nonce: nonce, ExpiresInDays: DefaultInvitationDays}
	inv.Email = p.Email("email", in.Email)
	if in.Permissions == nil {
		p.Add("permissions", "is required (it may be empty)")
	}
	inv.Permissions = p.Permissions("permissions", in.Permissions, cat)
	if in.ExpiresInDays != nil {
		inv.ExpiresInDays = *in.ExpiresInDays
		if inv.ExpiresInDays < MinInvitationDays || inv.ExpiresInDays > MaxInvitationDays {
			p.Add("expiresInDays", "must be from %d to %d", MinInvitationDays, MaxInvitationDays)
		}
	}
	inv.ExpiresAt = expiry(now, inv.ExpiresInDays)
	return inv, p.Err()
}

// Resent returns the invitation as a resend leaves it (R14): a new nonce (so earlier links stop
// working), the expiry reset, the send counted. It returns 409 when the invitation has ended
// (accepted or revoked) and 429 when the last send was less than ResendInterval ago.
func (i Invitation) Resent(nonce string, now time.Time) (Invitation, error) {
	if i.Status != StatusPending {
		return i, apperr.Conflict(apperr.CodeConflict, "the invitation is %s and cannot be resent", i.Status)
	}
	if wait := i.LastSentAt.Add(ResendInterval).Sub(now); wait > 0 {
		return i, apperr.New(http.StatusTooManyRequests, apperr.CodeResendTooSoon,
			"the invitation was sent less than a minute ago; try again in %d s", int(wait.Seconds())+1).
			With("retryAfterSeconds", int(wait.Seconds())+1)
	}
	i.Nonce = nonce
	i.SendCount++
	i.LastSentAt = now
	i.ExpiresAt = expiry(now, i.ExpiresInDays)
	i.Delivery = nil
	return i, nil
}

// Acceptable returns nil when the invitation can be accepted at now, else the error that says
// why not: expired (410), revoked (410) or already accepted (409).
func (i Invitation) Acceptable(now time.Time) error {
	switch i.EffectiveStatus(now) {
	case StatusExpired:
		return apperr.New(http.StatusGone, apperr.CodeInvitationExpired, "the invitation has expired; ask for a new one")
	case StatusRevoked:
		return apperr.New(http.StatusGone, apperr.CodeInvitationRevoked, "the invitation was revoked")
	case StatusAccepted:
		return apperr.Conflict(apperr.CodeInvitationUsed, "the invitation has already been accepted")
	}
	return nil
}

// ErrInvalidToken is the answer to a token that names no invitation, was tampered with, or was
// superseded by a resend.
var ErrInvalidToken = apperr.New(http.StatusBadRequest, apperr.CodeInvalidToken, "the invitation link is not valid; it may have been replaced by a newer one")

// TokenInput is the body of POST /invitations/lookup and /invitations/accept.
type TokenInput struct {
	Token string `json:"token"`
}

// InvitationView is what the look-up shows a recipient before accepting (a "join as X" screen).
type InvitationView struct {
	AccountName  string    `json:"accountName"`
	InvitedBy    *Actor    `json:"invitedBy,omitempty"` // the member who invited; absent when an operator did (the account invites)
	InvitedEmail string    `json:"invitedEmail"`
	Kind         string    `json:"kind"`
	Permissions  []string  `json:"permissions"`
	ExpiresAt    time.Time `json:"expiresAt"`
	Status       string    `json:"status"`
}

// WelcomePermissions are the permissions of a welcome invitation created by creator (nil for an
// operator) when the stage's welcome permissions are stage (R22, R7; issue 14 finding 4): only
// the owner grants access (R7), so a welcome invitation made by anyone but the owner or an
// operator grants no permission its creator does not hold itself — a member cannot use a contact
// at an address it controls to give a second login more than it has.
func WelcomePermissions(stage []string, creator *User) []string {
	out := []string{}
	for _, p := range stage {
		if creator == nil || creator.Can(p) {
			out = append(out, p)
		}
	}
	return out
}

// NewWelcomeInvitation is the welcome invitation (R22) created with the first relationship of
// contact c of account a: it invites c's email with the stage's welcome permissions perms, and
// accepting it links the new user to c (ContactID). Like every invitation it is sent once on
// creation (send count 1) and expires after DefaultInvitationDays.
func NewWelcomeInvitation(id string, a Account, c Contact, perms []string, by Actor, nonce string, now time.Time) Invitation {
	return Invitation{
		ID: id, AccountID: a.ID, AccountName: a.Name, Kind: KindWelcome, Email: c.Email, ContactID: c.ID,
		Permissions: append([]string{}, perms...), Status: StatusPending,
		ExpiresAt: expiry(now, DefaultInvitationDays), ExpiresInDays: DefaultInvitationDays,
		SendCount: 1, LastSentAt: now, InvitedBy: by, CreatedAt: now, Nonce: nonce,
	}
}
