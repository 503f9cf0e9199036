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
)

func TestDocs(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	d := NewDocs(next, repoRoot(t), nil)
	if !d.Installed() {
		t.Fatal("Swagger UI is not installed: run npm ci in infra/ (it installs swagger-ui-dist)")
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	if resp, body := get("/docs"); resp.StatusCode != 200 || !strings.Contains(body, "swagger-ui-bundle.js") || resp.Request.URL.Path != "/docs/" {
		t.Errorf("GET /docs: %d at %s: %.200s", resp.StatusCode, resp.Request.URL.Path, body)
	}
	if resp, body := get("/docs/swagger-ui-bundle.js"); resp.StatusCode != 200 || len(body) < 100000 {
		t.Errorf("GET the bundle: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body := get("/docs/openapi.json")
	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct{ URL string }
		Paths   map[string]any
	}
	if err := json.Unmarshal([]byte(body), &doc); resp.StatusCode != 200 || err != nil {
		t.Fatalf("GET /docs/openapi.json: %d %v", resp.StatusCode, err)
	}
	if len(doc.Servers) < 2 || doc.Servers[0].URL != srv.URL || doc.Paths["/catalog"] == nil {
		t.Errorf("the served document: servers %+v, want this stack (%s) first and the others kept; %d paths", doc.Servers, srv.URL, len(doc.Paths))
	}
	for _, path := range []string{"/docs/package.json", "/docs/../go.mod", "/docs/swagger-ui.js.map", "/docs/x/swagger-ui.css"} {
		if resp, _ := get(path); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404 (only the page's files are served)", path, resp.StatusCode)
		}
	}
	if resp, _ := get("/catalog"); resp.StatusCode != http.StatusTeapot {
		t.Errorf("GET /catalog went %d, want it passed on", resp.StatusCode)
	}
	if resp, _ := get("/docsx"); resp.StatusCode != http.StatusTeapot {
		t.Errorf("GET /docsx went %d, want it passed on", resp.StatusCode)
	}

	// Without swagger-ui-dist the page says how to install it.
	empty := t.TempDir()
	_ = os.MkdirAll(filepath.Join(empty, "docs"), 0o755)
	rec := httptest.NewRecorder()
	NewDocs(next, empty, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/docs/", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "npm ci") {
		t.Errorf("without Swagger UI: %d %s", rec.Code, rec.Body.String())
	}
}
