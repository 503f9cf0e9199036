package local

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rollcall/shared/routes"
)

// consoleUnderTest serves a small console build in front of a recorder standing in for the API
// (the routing is what is tested here; the e2e and browser tests use the real gateway).
func consoleUnderTest(t *testing.T, built bool) (*Console, *apiRecorder, *Signer) {
	t.Helper()
	dir := t.TempDir()
	if built {
		if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{
			"index.html":      "<!doctype html><title>console</title>",
			"assets/app.js":   "console.log(1)",
			"assets/app.css":  "body{}",
			"favicon.svg":     "<svg/>",
			"accounts/nested": "not served: an API path",
		} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	s.OperatorGroup = "operators"
	api := &apiRecorder{}
	return NewConsole(api, dir, s, nil), api, s
}

type apiRecorder struct{ calls []string }

func (a *apiRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.calls = append(a.calls, r.Method+" "+r.URL.Path)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusTeapot)
}

func do(t *testing.T, h http.Handler, method, target, accept, body string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func readBody(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func TestConsoleRouting(t *testing.T) {
	c, api, _ := consoleUnderTest(t, true)
	for _, tc := range []struct {
		method, target, accept string
		wantBody               string // "" means: the API answered
		wantStatus             int
	}{
		// The email's link opened in a browser is the console's accept page, not the API's 405.
		{"GET", "/invitations/accept?token=abc", browserAccept, "<title>console</title>", 200},
		{"GET", "/", browserAccept, "<title>console</title>", 200},
		{"GET", "/accounts/acc_1/contacts", browserAccept, "<title>console</title>", 200},
		{"GET", "/no/such/page", browserAccept, "<title>console</title>", 200},
		{"GET", "/assets/app.js", "*/*", "console.log(1)", 200},
		{"HEAD", "/assets/app.css", "text/css", "", 200},
		{"GET", "/favicon.svg", "", "<svg/>", 200},
		// The API keeps its routes: fetches ask for JSON (or anything), and other methods.
		{"POST", "/invitations/accept", "application/json", "", http.StatusTeapot},
		{"GET", "/accounts/acc_1", "application/json", "", http.StatusTeapot},
		{"GET", "/accounts/nested", "*/*", "", http.StatusTeapot},
		{"GET", "/catalog", "", "", http.StatusTeapot},
		{"GET", "/no/such/route", "application/json", "", http.StatusTeapot},
		{"DELETE", "/assets/app.js", browserAccept, "", http.StatusTeapot},
	} {
		before := len(api.calls)
		resp := do(t, c, tc.method, tc.target, tc.accept, "")
		body := readBody(t, resp)
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("%s %s (Accept %q): status %d, want %d", tc.method, tc.target, tc.accept, resp.StatusCode, tc.wantStatus)
		}
		toAPI := len(api.calls) > before
		if wantAPI := tc.wantStatus == http.StatusTeapot; toAPI != wantAPI {
			t.Errorf("%s %s (Accept %q): went to the API = %v, want %v", tc.method, tc.target, tc.accept, toAPI, wantAPI)
		}
		if tc.wantBody != "" && !strings.Contains(body, tc.wantBody) {
			t.Errorf("%s %s: body %q, want %q", tc.method, tc.target, body, tc.wantBody)
		}
	}
	page := do(t, c, "GET", "/invitations/accept?token=x", browserAccept, "")
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("page CSP = %q, want a strict same-origin policy", csp)
	}
	if cc := do(t, c, "GET", "/assets/app.js", "", "").Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("asset Cache-Control = %q, want immutable", cc)
	}
}

func TestConsoleNotBuilt(t *testing.T) {
	c, _, _ := consoleUnderTest(t, false)
	resp := do(t, c, "GET", "/invitations/accept?token=x", browserAccept, "")
	if body := readBody(t, resp); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "make web") {
		t.Fatalf("not built: %d %q, want 503 saying to run make web", resp.StatusCode, body)
	}
}

func TestConsoleConfig(t *testing.T) {
	c, _, _ := consoleUnderTest(t, true)
	resp := do(t, c, "GET", ConsoleConfigPath, "", "")
	var cfg struct{ SignIn, APIURL string }
	if err := json.Unmarshal([]byte(readBody(t, resp)), &cfg); err != nil || cfg.SignIn != "local" {
		t.Fatalf("config: %v %+v, want signIn local", err, cfg)
	}
}

func TestLocalToken(t *testing.T) {
	c, api, s := consoleUnderTest(t, true)
	resp := do(t, c, "POST", LocalTokenPath, "", `{"sub":"ada","email":"ada@acme.example","operator":true}`)
	var out tokenResponse
	if err := json.Unmarshal([]byte(readBody(t, resp)), &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	claims, err := s.Verify(out.Token)
	if err != nil {
		t.Fatalf("the minted token does not verify: %v", err)
	}
	if claims["sub"] != "ada" || claims["email"] != "ada@acme.example" || !strings.Contains(claims["cognito:groups"], "operators") {
		t.Errorf("claims = %v, want sub ada, email ada@acme.example, in operators", claims)
	}
	if out.ExpiresIn <= 0 {
		t.Errorf("expiresIn = %d", out.ExpiresIn)
	}

	resp = do(t, c, "POST", LocalTokenPath, "", `{"sub":"bob"}`)
	_ = json.Unmarshal([]byte(readBody(t, resp)), &out)
	if claims, err := s.Verify(out.Token); err != nil || claims["email"] != "bob@example.com" || claims["cognito:groups"] != "" {
		t.Errorf("default email / not operator: %v %v", claims, err)
	}

	for body, field := range map[string]string{`{"sub":" "}`: "sub", `{"sub":"a","email":"nope"}`: "email", `{"sub":"a","admin":true}`: ""} {
		resp := do(t, c, "POST", LocalTokenPath, "", body)
		var p struct {
			Code   string
			Errors []struct{ Field string }
		}
		_ = json.Unmarshal([]byte(readBody(t, resp)), &p)
		if resp.StatusCode != 400 || p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("%s: %d %+v, want 400 naming field %q", body, resp.StatusCode, p, field)
		}
	}
	if resp := do(t, c, "GET", LocalTokenPath, browserAccept, ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want 405", LocalTokenPath, resp.StatusCode)
	}
	if len(api.calls) != 0 {
		t.Errorf("the token endpoint reached the API: %v", api.calls)
	}
}

// The token endpoint is the local stack's alone: the route table, which every deployed stage's
// API is made from (CDK stack, authorizer, OpenAPI document), has no such path.
func TestLocalTokenNotInRouteTable(t *testing.T) {
	for _, r := range routes.All {
		if strings.HasPrefix(r.Path, "/_local") || r.Path == ConsoleConfigPath {
			t.Errorf("route %s is in the route table: deployed stages would serve it", r.Key())
		}
	}
	for _, m := range []string{"GET", "POST"} {
		if _, _, ok, known := routes.Match(m, LocalTokenPath); ok || known {
			t.Errorf("routes.Match(%s %s) = %v, %v: want unknown", m, LocalTokenPath, ok, known)
		}
	}
}
