package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"rollcall/shared/auth"
)

// request builds what API Gateway hands a function: the flattened claims and, when token is not
// nil, an Authorization header carrying a JWT with those claims as the token holds them.
func request(claims map[string]string, token map[string]any) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{Headers: map[string]string{}}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}
	if token != nil {
		b, _ := json.Marshal(token)
		enc := base64.RawURLEncoding
		req.Headers["authorization"] = "Bearer " + enc.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." + enc.EncodeToString(b) + ".c2ln"
	}
	return req
}

// Finding 1: a group whose name merely contains the operator group's name, or holds it after a
// comma, is not the operator group.
func TestOperatorIsAWholeGroupName(t *testing.T) {
	cases := []struct {
		name   string
		groups []string // as the token holds them
		header bool     // whether the request carries the token
		want   bool
	}{
		{"operator group", []string{"operators"}, true, true},
		{"operator group among others", []string{"staff", "operators"}, true, true},
		{"operator group without the token", []string{"staff", "operators"}, false, true},
		{"name with a space ending in it", []string{"Customer operators"}, true, false},
		{"comma-joined name", []string{"x,operators"}, true, false},
		{"comma-joined name without the token", []string{"x,operators"}, false, false},
		{"prefix", []string{"operators-readonly"}, false, false},
		{"case differs", []string{"Operators"}, false, false},
		{"brackets in a name", []string{"[operators]"}, true, false},
		{"no groups", []string{}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, claim := range []string{auth.ClaimGroups, auth.ClaimAltGrp} {
				claims := map[string]string{"sub": "u1", claim: auth.Flatten(c.groups)}
				var tok map[string]any
				if c.header {
					tok = map[string]any{"sub": "u1", claim: c.groups}
				}
				got, err := auth.FromRequest(request(claims, tok), "operators")
				if err != nil {
					t.Fatal(err)
				}
				if got.Operator != c.want {
					t.Errorf("%s %q: operator %v, want %v", claim, claims[claim], got.Operator, c.want)
				}
			}
		})
	}
}

// A token in the header that is not the one the authorizer checked (another subject, or groups
// that do not flatten to the claim) is ignored: the claim decides.
func TestGroupsFromAnotherTokenAreIgnored(t *testing.T) {
	claims := map[string]string{"sub": "u1", "cognito:groups": "[staff]"}
	for _, tok := range []map[string]any{
		{"sub": "u2", "cognito:groups": []string{"operators"}},
		{"sub": "u1", "cognito:groups": []string{"operators"}},
	} {
		got, _ := auth.FromRequest(request(claims, tok), "operators")
		if got.Operator {
			t.Errorf("token %v made an operator of claims %v", tok, claims)
		}
	}
}

func TestGroupsParsing(t *testing.T) {
	cases := map[string][]string{
		"":              nil,
		"[]":            nil,
		"[a b]":         {"a", "b"},
		`["a b","c"]`:   {"a b", "c"},
		"single":        {"single"},
		"a,b":           {"a,b"},
		"[a,b c]":       {"a,b", "c"},
		"[unterminated": {"[unterminated"},
	}
	for flat, want := range cases {
		got := auth.Groups(flat, nil)
		if len(got) != len(want) {
			t.Errorf("Groups(%q) = %q, want %q", flat, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("Groups(%q) = %q, want %q", flat, got, want)
			}
		}
	}
}

// Finding 2: the email claim is the caller's email only when email_verified is true.
func TestEmailOnlyWhenVerified(t *testing.T) {
	cases := []struct {
		verified string
		present  bool
		want     string
	}{
		{"true", true, "ann@example.com"},
		{"false", true, ""},
		{"", false, ""},
		{"TRUE", true, ""},
	}
	for _, c := range cases {
		claims := map[string]string{"sub": "u1", "email": "ann@example.com"}
		if c.present {
			claims["email_verified"] = c.verified
		}
		got, err := auth.FromRequest(request(claims, nil), "operators")
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != c.want {
			t.Errorf("email_verified %q (present %v): email %q, want %q", c.verified, c.present, got.Email, c.want)
		}
	}
	// An access token has no email claim: the caller has no email.
	got, _ := auth.FromRequest(request(map[string]string{"sub": "u1", "token_use": "access", "email_verified": "true"}, nil), "operators")
	if got.Email != "" {
		t.Errorf("access token: email %q", got.Email)
	}
}

func TestNoSubjectIs401(t *testing.T) {
	if _, err := auth.FromRequest(request(map[string]string{"email": "a@b.example"}, nil), "operators"); err == nil {
		t.Fatal("a request without sub was accepted")
	}
	if _, err := auth.FromRequest(events.APIGatewayV2HTTPRequest{}, "operators"); err == nil {
		t.Fatal("a request without an authorizer was accepted")
	}
}
