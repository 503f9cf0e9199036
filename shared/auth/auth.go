// Package auth turns the JWT claims that API Gateway's JWT authorizer (or the local gateway)
// hands to a function into the caller of an operation.
package auth

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"rollcall/shared/apperr"
	"rollcall/shared/domain"
)

// Claim names read from the token.
const (
	ClaimSub    = "sub"
	ClaimEmail  = "email"
	ClaimGroups = "cognito:groups" // Cognito's groups claim
	ClaimAltGrp = "groups"         // the claim external issuers commonly use
)

// Caller is who makes a request.
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
	groups := append(parseGroups(claims[ClaimGroups]), parseGroups(claims[ClaimAltGrp])...)
	return Caller{Sub: sub, Email: claims[ClaimEmail], Operator: slices.Contains(groups, operatorGroup)}, nil
}

// parseGroups reads a list claim as API Gateway passes it: "[a b]" for a JSON array in the
// token, or a JSON array, or a single name.
func parseGroups(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var list []string
	if json.Unmarshal([]byte(v), &list) == nil {
		return list
	}
	v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
}
