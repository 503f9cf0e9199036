package handlers_test

import (
	"net/http"
	"testing"
)

// TestUpdateUserAnswersIfMatchAsDeclared checks that PATCH users answers 412 to an If-Match
// (memberships have no version, so none can match), which its declaration lists: the answer is
// validated against docs/openapi.json like every other.
func TestUpdateUserAnswersIfMatchAsDeclared(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccount("customer")
	body := `{"permissions":[]}`
	a := e.do(call{function: "update-user", sub: "op", operator: true, body: &body,
		params: map[string]string{"accountId": acc, "userId": "someone"}, headers: map[string]string{"If-Match": `"3"`}})
	if a.status != http.StatusPreconditionFailed {
		t.Fatalf("PATCH user with If-Match: %d %s", a.status, a.raw)
	}
}
