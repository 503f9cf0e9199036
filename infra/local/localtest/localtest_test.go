package localtest

import (
	"net/http"
	"strings"
	"testing"
)

// These tests go through the real handlers over HTTP, on a fresh table in DynamoDB Local.

func TestCatalogNeedsAToken(t *testing.T) {
	s := Start(t)

	resp := s.Do(t, http.MethodGet, "/catalog", "", nil)
	if resp.Status != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("GET /catalog without a token: %d %s %s, want a 401 problem", resp.Status, resp.Header.Get("Content-Type"), resp.Body)
	}

	resp = s.Do(t, http.MethodGet, "/catalog", s.Token(t, "alice", "alice@example.com"), nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /catalog: %d %s", resp.Status, resp.Body)
	}
	var cat struct {
		Roles       []struct{ Name string } `json:"roles"`
		Permissions []struct{ Name string } `json:"permissions"`
		EmailTypes  []struct{ Name string } `json:"emailTypes"`
	}
	resp.JSON(t, &cat)
	if len(cat.Roles) == 0 || len(cat.Permissions) == 0 || len(cat.EmailTypes) == 0 {
		t.Errorf("catalog %s lacks roles, permissions or email types", resp.Body)
	}
}

func TestOperatorCreatesAnAccount(t *testing.T) {
	s := Start(t)
	body := map[string]any{
		"name":  "Acme",
		"owner": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@acme.example"},
	}

	resp := s.Do(t, http.MethodPost, "/accounts", s.Token(t, "alice", "alice@example.com"), body)
	if resp.Status != http.StatusForbidden {
		t.Fatalf("POST /accounts by a login that is no operator: %d %s, want 403", resp.Status, resp.Body)
	}

	op := s.OperatorToken(t, "op")
	resp = s.Do(t, http.MethodPost, "/accounts", op, body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST /accounts as operator: %d %s", resp.Status, resp.Body)
	}
	var acc struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Type    string `json:"type"`
		Version int    `json:"version"`
	}
	resp.JSON(t, &acc)
	if !strings.HasPrefix(acc.ID, "acc_") || acc.Name != "Acme" || acc.Type != "customer" || acc.Version < 1 {
		t.Errorf("created account %s", resp.Body)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Error("no ETag on the created account")
	}

	resp = s.Do(t, http.MethodGet, "/accounts/"+acc.ID, op, nil)
	if resp.Status != http.StatusOK || resp.Header.Get("ETag") != etag {
		t.Fatalf("GET /accounts/%s: %d %s (ETag %q, want %q)", acc.ID, resp.Status, resp.Body, resp.Header.Get("ETag"), etag)
	}

	resp = s.Do(t, http.MethodGet, "/accounts/"+acc.ID+"/sites", op, nil)
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), "Acme Main Site") {
		t.Errorf("GET sites: %d %s, want the main site", resp.Status, resp.Body)
	}

	// An account the caller is no member of is not found, not forbidden (DESIGN §2).
	resp = s.Do(t, http.MethodGet, "/accounts/"+acc.ID, s.Token(t, "mallory", "m@example.com"), nil)
	if resp.Status != http.StatusNotFound {
		t.Errorf("GET the account as a stranger: %d %s, want 404", resp.Status, resp.Body)
	}
}

func TestUnknownRoutes(t *testing.T) {
	s := Start(t)
	tok := s.Token(t, "alice", "")
	if resp := s.Do(t, http.MethodGet, "/nowhere", tok, nil); resp.Status != http.StatusNotFound {
		t.Errorf("GET /nowhere: %d %s, want 404", resp.Status, resp.Body)
	}
	if resp := s.Do(t, http.MethodPut, "/catalog", tok, nil); resp.Status != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("PUT /catalog: %d %s (Allow %q), want 405 with Allow: GET", resp.Status, resp.Body, resp.Header.Get("Allow"))
	}
}

// The owner invitation of a new account, accepted over HTTP with the token the email would carry,
// makes the accepting login the owner (R2, R12, R15): the gateway, the handlers and the
// invitation signing key work together.
func TestOwnerAcceptsTheInvitation(t *testing.T) {
	s := Start(t)
	op := s.OperatorToken(t, "op")
	resp := s.Do(t, http.MethodPost, "/accounts", op, map[string]any{
		"name":  "Globex",
		"owner": map[string]any{"firstName": "Hank", "lastName": "Scorpio", "email": "hank@globex.example"},
	})
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST /accounts: %d %s", resp.Status, resp.Body)
	}
	var acc struct{ ID string }
	resp.JSON(t, &acc)

	resp = s.Do(t, http.MethodGet, "/accounts/"+acc.ID+"/invitations", op, nil)
	var invs struct {
		Items []struct{ ID, Kind, Status string }
	}
	resp.JSON(t, &invs)
	if resp.Status != http.StatusOK || len(invs.Items) != 1 || invs.Items[0].Kind != "owner" {
		t.Fatalf("GET invitations: %d %s, want the one owner invitation", resp.Status, resp.Body)
	}
	token := s.InviteToken(t, acc.ID, invs.Items[0].ID)

	hank := s.Token(t, "hank-sub", "hank@globex.example")
	resp = s.Do(t, http.MethodPost, "/invitations/lookup", hank, map[string]string{"token": token})
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), "Globex") {
		t.Fatalf("POST /invitations/lookup: %d %s", resp.Status, resp.Body)
	}
	resp = s.Do(t, http.MethodPost, "/invitations/lookup", hank, map[string]string{"token": token + "x"})
	if resp.Status < 400 || resp.Status >= 500 {
		t.Errorf("look-up of a forged token: %d %s, want a 4xx", resp.Status, resp.Body)
	}
	resp = s.Do(t, http.MethodPost, "/invitations/accept", hank, map[string]string{"token": token})
	if resp.Status/100 != 2 {
		t.Fatalf("POST /invitations/accept: %d %s", resp.Status, resp.Body)
	}

	resp = s.Do(t, http.MethodGet, "/me/accounts", hank, nil)
	var mine struct {
		Items []struct {
			Account struct{ ID string }
			Role    string
		}
	}
	resp.JSON(t, &mine)
	if resp.Status != http.StatusOK || len(mine.Items) != 1 || mine.Items[0].Account.ID != acc.ID || mine.Items[0].Role != "owner" {
		t.Fatalf("GET /me/accounts after accepting: %d %s, want owner of %s", resp.Status, resp.Body, acc.ID)
	}
	if resp := s.Do(t, http.MethodGet, "/accounts/"+acc.ID, hank, nil); resp.Status != http.StatusOK {
		t.Errorf("the new owner reads the account: %d %s", resp.Status, resp.Body)
	}
}
