// Package apperr holds rollcall's typed errors. Every failure a caller may see is an *Error with
// its HTTP status and stable code; httpapi turns it into an RFC 9457 problem once. Anything that
// is not an *Error is an internal fault and is answered 500 without detail.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Stable problem codes (DESIGN rules name them).
const (
	CodeValidation          = "validation_failed"
	CodeUnauthorized        = "unauthorized"
	CodeForbidden           = "forbidden"
	CodeNotFound            = "not_found"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeConflict            = "conflict"
	CodePreconditionFailed  = "precondition_failed"
	CodeIdempotencyMismatch = "idempotency_key_reused"
	CodeTooManyRequests     = "too_many_requests"
	CodeContactEmailTaken   = "contact_email_taken"
	CodeLastRecipient       = "last_recipient"
	CodeSupportCaseRequired = "support_case_required"
	CodeEmailBelongsToUser  = "email_belongs_to_user"
	CodeInvitationPending   = "invitation_pending"
	CodeRoleTaken           = "role_taken"
	CodeAlreadyMember       = "already_member"
	CodeInvitationExpired   = "invitation_expired"
	CodeInvitationRevoked   = "invitation_revoked"
	CodeInvitationUsed      = "invitation_already_accepted"
	CodeInvalidToken        = "invalid_token"
	CodeResendTooSoon       = "resend_too_soon"
	CodeNotAdminEligible    = "not_admin_eligible"
	CodeOwnerProtected      = "owner_protected"
	CodeInternal            = "internal"
	CodeEmailNotVerified    = "email_not_verified"
	CodeEmailUndeliverable  = "email_undeliverable"
)

// FieldError is one invalid field of a request body or query (JSON pointer style path).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a failure with the HTTP status and problem code the caller gets.
type Error struct {
	Status int
	Code   string
	Title  string
	Detail string
	Fields []FieldError   // for 400: which fields are wrong
	Extra  map[string]any // further problem members, e.g. the id of a conflicting item
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Code + ": " + e.Detail
	}
	return e.Code
}

// As returns err as an *Error, and whether it is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err is an *Error with the given code.
func Is(err error, code string) bool {
	e, ok := As(err)
	return ok && e.Code == code
}

// New makes an error with status, code and a formatted detail; the title is the status text.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Title: http.StatusText(status), Detail: fmt.Sprintf(format, args...)}
}

// With returns a copy of e with an extra problem member.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Extra = map[string]any{}
	for k, v := range e.Extra {
		c.Extra[k] = v
	}
	c.Extra[key] = value
	return &c
}

// Invalid is a 400 listing the invalid fields.
func Invalid(fields ...FieldError) *Error {
	e := New(http.StatusBadRequest, CodeValidation, "the request is not valid")
	e.Fields = fields
	return e
}

// InvalidField is a 400 for one field.
func InvalidField(field, message string) *Error {
	return Invalid(FieldError{Field: field, Message: message})
}

// NotFound is a 404 for a missing item; also answered for accounts the caller is not a member of,
// so that account ids cannot be probed.
func NotFound(what string) *Error {
	return New(http.StatusNotFound, CodeNotFound, "%s not found", what)
}

// Forbidden is a 403 for a member who lacks the right to do something.
func Forbidden(format string, args ...any) *Error {
	return New(http.StatusForbidden, CodeForbidden, format, args...)
}

// Conflict is a 409 with a rule's code.
func Conflict(code, format string, args ...any) *Error {
	return New(http.StatusConflict, code, format, args...)
}

// Unauthorized is a 401 for a missing or invalid token.
func Unauthorized(detail string) *Error {
	return New(http.StatusUnauthorized, CodeUnauthorized, "%s", detail)
}

// PreconditionFailed is a 412 for an If-Match that does not match the item's version.
func PreconditionFailed() *Error {
	return New(http.StatusPreconditionFailed, CodePreconditionFailed, "the item has changed since it was read (If-Match does not match its ETag)")
}
