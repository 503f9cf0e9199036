// Package auth turns the JWT claims that API Gateway's JWT authorizer (or the local gateway)
// hands to a function into the caller of an operation.
//
// Two rules matter for security (docs/decisions.md, "Callers"):
//   - Operators are recognised by a whole group name. API Gateway flattens a JSON array claim to
//     "[a b c]" (elements joined by single spaces), which loses the boundaries of names holding a
//     space; the list is therefore read from the verified token itself when the request carries
//     it (the Authorization header the authorizer checked) and it flattens to exactly the claim,
//     and otherwise split on single spaces only. Commas are never separators.
//   - An email is trusted only when the token says it is verified (email_verified true).
//     Access tokens carry neither claim: a caller with an access token has no email (see
//     decisions.md for how a deployment adds them).
package auth

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"rollcall/shared/apperr"
	"rollcall/shared/domain"
)

// Claim names read from the token.
const (
	ClaimSub           = "sub"
	ClaimEmail         = "email"
	ClaimEmailVerified = "email_verified"
	ClaimGroups        = "cognito:groups" // Cognito's groups claim
	ClaimAltGrp        = "groups"         // the claim external issuers commonly use
)

// Caller is who makes a request. Email is the login's verified email, "" when the token carries
// none or does not say it is verified.
type Caller struct {
	Sub      string
	Email    string
	Operator bool
}

// Actor is the caller as recorded in audit entries and invitations.
func (c Caller) Actor() domain.Actor {
	return domain.Actor{Sub: c.Sub, Email: c.Email, Operator: c.Operator}
}

// FromRequest returns the caller of req; operatorGroup is the stage's operator group. It returns
// a 401 when the request carries no subject (the authorizer should have refused it already).
func FromRequest(req events.APIGatewayV2HTTPRequest, operatorGroup string) (Caller, error) {
	var claims map[string]string
	if a := req.RequestContext.Authorizer; a != nil && a.JWT != nil {
		claims = a.JWT.Claims
	}
	sub := claims[ClaimSub]
	if sub == "" {
		return Caller{}, apperr.Unauthorized("a valid bearer token is required")
	}
	payload := tokenPayload(req.Headers, sub)
	c := Caller{Sub: sub}
	if claims[ClaimEmailVerified] == "true" {
		c.Email = strings.TrimSpace(claims[ClaimEmail])
	}
	if operatorGroup != "" {
		for _, name := range []string{ClaimGroups, ClaimAltGrp} {
			if slices.Contains(Groups(claims[name], payload[name]), operatorGroup) {
				c.Operator = true
			}
		}
	}
	return c, nil
}

// Groups returns the group names of a list claim: flat is the value API Gateway handed over,
// raw the same claim as the token holds it (nil when unknown). raw is used only when it
// flattens to exactly flat, which proves it is the list the authorizer checked; then names keep
// their spaces. Otherwise flat is read as API Gateway writes it: "[a b]" is the names a and b,
// a JSON array (as some authorizers pass) its strings, anything else one whole name.
func Groups(flat string, raw json.RawMessage) []string {
	if raw != nil {
		var list []string
		if json.Unmarshal(raw, &list) == nil && Flatten(list) == flat {
			return list
		}
		var one string
		if json.Unmarshal(raw, &one) == nil && one == flat {
			return []string{one}
		}
	}
	if flat == "" {
		return nil
	}
	if strings.HasPrefix(flat, `["`) || flat == "[]" {
		var list []string
		if json.Unmarshal([]byte(flat), &list) == nil {
			return list
		}
	}
	if inner, ok := strings.CutPrefix(flat, "["); ok {
		if inner, ok = strings.CutSuffix(inner, "]"); ok {
			if inner == "" {
				return nil
			}
			return strings.Split(inner, " ")
		}
	}
	return []string{flat}
}

// Flatten renders a list claim as API Gateway's JWT authorizer hands it to a function.
func Flatten(list []string) string { return "[" + strings.Join(list, " ") + "]" }

// tokenPayload returns the claims of the bearer token in headers, undecoded, when it is a JWT
// whose subject is sub; nil otherwise. The token's signature is not checked here: the
// authorizer checked it, and the payload is used only to read a claim it must agree with.
func tokenPayload(headers map[string]string, sub string) map[string]json.RawMessage {
	var h string
	for k, v := range headers {
		if strings.EqualFold(k, "authorization") {
			h = v
		}
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return nil
	}
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims map[string]json.RawMessage
	if json.Unmarshal(b, &claims) != nil {
		return nil
	}
	var s string
	if json.Unmarshal(claims[ClaimSub], &s) != nil || s != sub {
		return nil
	}
	return claims
}
