package apicheck_test

import (
	"encoding/json"
	"strings"
	"testing"

	"rollcall/shared/apicheck"
	"rollcall/shared/catalog"
)

// TestCatchesWrongAnswers shows the validation catching deliberately wrong answers: an
// undeclared status, an undeclared field, a field of the wrong type, a missing required field, a
// problem code the operation does not declare, a body where none is declared, and a batch row
// with an undeclared code; and letting the right answers through.
func TestCatchesWrongAnswers(t *testing.T) {
	cat, _ := json.Marshal(catalog.Default())
	withExtra := strings.Replace(string(cat), "{", `{"secret":"x",`, 1)
	problem := func(status, code string) string {
		return `{"type":"https://rollcall.dev/problems/` + code + `","title":"t","status":` + status + `,"code":"` + code + `"}`
	}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	problemCT := map[string]string{"Content-Type": "application/problem+json"}
	site := `{"id":"site_1","accountId":"acc_1","name":"Main","main":true}`
	cases := []struct {
		name     string
		function string
		status   int
		headers  map[string]string
		body     string
		wrong    string // what the error must mention; "" for a right answer
	}{
		{"right catalog", "get-catalog", 200, jsonCT, string(cat), ""},
		{"right problem", "get-account", 404, problemCT, problem("404", "not_found"), ""},
		{"right site", "create-site", 201, jsonCT, site, ""},
		{"right batch", "batch-put-relationships", 200, jsonCT,
			`{"results":[{"status":404,"error":` + problem("404", "not_found") + `}]}`, ""},
		{"undeclared status", "get-catalog", 418, jsonCT, string(cat), "status is not supported"},
		{"undeclared field", "get-catalog", 200, jsonCT, withExtra, "secret"},
		{"wrong type", "create-site", 201, jsonCT, strings.Replace(site, `"main":true`, `"main":"yes"`, 1), "main"},
		{"missing field", "create-site", 201, jsonCT, strings.Replace(site, `"name":"Main",`, "", 1), "name"},
		{"undeclared code", "get-account", 404, problemCT, problem("404", "role_taken"), "role_taken"},
		{"undeclared 409", "get-account", 409, problemCT, problem("409", "conflict"), "status is not supported"},
		{"body on 204", "delete-contact", 204, jsonCT, site, "without one"},
		{"undeclared row code", "batch-put-relationships", 200, jsonCT,
			`{"results":[{"status":409,"error":` + problem("409", "contact_email_taken") + `}]}`, "contact_email_taken"},
	}
	for _, c := range cases {
		err := apicheck.Validate(c.function, c.status, c.headers, []byte(c.body))
		switch {
		case c.wrong == "" && err != nil:
			t.Errorf("%s: a right answer was refused: %v", c.name, err)
		case c.wrong != "" && err == nil:
			t.Errorf("%s: a wrong answer passed", c.name)
		case c.wrong != "" && !strings.Contains(err.Error(), c.wrong):
			t.Errorf("%s: the error does not mention %q: %v", c.name, c.wrong, err)
		}
	}
}
