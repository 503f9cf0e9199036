package local

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCORSOriginsAreCDKJSONPortals: the local gateway allows the origin of every stage's
// portalUrl in cdk.json, the value the stack gives API Gateway's CorsPreflight.
func TestCORSOriginsAreCDKJSONPortals(t *testing.T) {
	root := repoRoot(t)
	got, err := CORSOrigins(root)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context map[string]json.RawMessage
	}
	var stages map[string]map[string]any
	b, _ := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	if err := json.Unmarshal(doc.Context[CDKStagesKey], &stages); err != nil {
		t.Fatalf("cdk.json stages: %v", err)
	}
	if len(stages) == 0 {
		t.Fatal("cdk.json has no stages")
	}
	for name, st := range stages {
		portal, _ := st["portalUrl"].(string)
		origin := strings.Join(strings.SplitN(portal, "/", 4)[:3], "/") // scheme://host
		if !slices.Contains(got, origin) {
			t.Errorf("stage %s's portal origin %s is not among %v", name, origin, got)
		}
	}

	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "cdk.json"), []byte(`{"context":{"`+CDKStagesKey+`":{"a":{"portalUrl":"https://p.example/app"},"b":{"portalUrl":"https://p.example"}}}}`), 0o644)
	if got, err := CORSOrigins(dir); err != nil || !slices.Equal(got, []string{"https://p.example"}) {
		t.Errorf("two stages on one portal: %v, %v; want the origin once", got, err)
	}
	_ = os.WriteFile(filepath.Join(dir, "cdk.json"), []byte(`{"context":{"`+CDKStagesKey+`":{"a":{"portalUrl":"portal"}}}}`), 0o644)
	if _, err := CORSOrigins(dir); err == nil {
		t.Error("a portalUrl without scheme and host was accepted")
	}
}

func TestCORS(t *testing.T) {
	const allowed = "https://portal.example"
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("ETag", `"1"`)
		w.WriteHeader(http.StatusOK)
	})
	h := CORS(inner, []string{allowed})
	do := func(method, origin, reqMethod string, auth bool) *http.Response {
		t.Helper()
		r := httptest.NewRequest(method, "/accounts/acc_1/contacts", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if reqMethod != "" {
			r.Header.Set("Access-Control-Request-Method", reqMethod)
			r.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
		}
		if auth {
			r.Header.Set("Authorization", "Bearer x")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}

	// A preflight from the portal: answered before any token check.
	resp := do("OPTIONS", allowed, "POST", false)
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PATCH") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") ||
		resp.Header.Get("Access-Control-Max-Age") != "3600" {
		t.Errorf("preflight from the portal: %d %v", resp.StatusCode, resp.Header)
	}
	// From another origin, or for a method no route has: no CORS headers, so the browser refuses.
	for _, c := range [][2]string{{"https://evil.example", "POST"}, {allowed, "TRACE"}} {
		resp := do("OPTIONS", c[0], c[1], false)
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %v: %d %v, want 204 without Access-Control-Allow-Origin", c, resp.StatusCode, resp.Header)
		}
	}
	// The request itself.
	resp = do("GET", allowed, "", true)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Errorf("GET from the portal: %d %v", resp.StatusCode, resp.Header)
	}
	resp = do("GET", "https://evil.example", "", true)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET from another origin: %d %v, want no Access-Control-Allow-Origin", resp.StatusCode, resp.Header)
	}
	// Errors carry the header too, so that the page can read the problem.
	if resp := do("GET", allowed, "", false); resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != allowed {
		t.Errorf("401 from the portal: %d %v", resp.StatusCode, resp.Header)
	}
	// Not a preflight (no Access-Control-Request-Method): the API answers as it would.
	if resp := do("OPTIONS", allowed, "", true); resp.StatusCode != 200 {
		t.Errorf("a plain OPTIONS went %d, want it passed on", resp.StatusCode)
	}
}
