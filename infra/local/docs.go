package local

import (
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DocsPath is where the local stack serves the API documents in the browser.
const DocsPath = "/docs"

// SwaggerUIDir is the folder, under a node folder (NodeDir), of Swagger UI's built files: the npm
// package swagger-ui-dist, pinned in infra/package-lock.json.
var SwaggerUIDir = filepath.Join("node_modules", "swagger-ui-dist")

// swaggerUIFiles are the files of swagger-ui-dist the page loads; nothing else of the package is
// served.
var swaggerUIFiles = []string{"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png", "oauth2-redirect.html", "oauth2-redirect.js"}

// Docs serves the API documents in the browser at /docs/, in front of next (which gets every
// other request): Swagger UI over docs/openapi.json, read at each request so that `make docs`
// shows at once. The document it serves names this stack (the request's host) as its first
// server, so that "Try it out" calls it, with the bearer token given under "Authorize".
type Docs struct {
	next  http.Handler
	ui    fs.FS  // swagger-ui-dist; nil when not installed
	uiDir string // for messages
	spec  string // docs/openapi.json
	log   *slog.Logger
}

// NewDocs returns the docs handler of the repository at root in front of next. A missing Swagger
// UI (npm ci not run) is not an error: the page then says how to install it.
func NewDocs(next http.Handler, root string, log *slog.Logger) *Docs {
	if log == nil {
		log = slog.Default()
	}
	d := &Docs{next: next, uiDir: filepath.Join(NodeDir(root), SwaggerUIDir), spec: filepath.Join(root, "docs", "openapi.json"), log: log}
	if st, err := os.Stat(filepath.Join(d.uiDir, "swagger-ui-bundle.js")); err == nil && !st.IsDir() {
		d.ui = os.DirFS(d.uiDir)
	}
	return d
}

// Installed reports whether Swagger UI was found.
func (d *Docs) Installed() bool { return d.ui != nil }

// ServeHTTP serves /docs/ (the page), /docs/openapi.json and Swagger UI's files; /docs redirects
// to /docs/; everything else goes to next.
func (d *Docs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != DocsPath && !strings.HasPrefix(r.URL.Path, DocsPath+"/") {
		d.next.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, DocsPath+"/")
	switch {
	case r.URL.Path == DocsPath:
		http.Redirect(w, r, DocsPath+"/", http.StatusMovedPermanently)
	case name == "" || name == "index.html":
		d.page(w)
	case name == "openapi.json":
		d.document(w, r)
	case slices.Contains(swaggerUIFiles, name) && d.ui != nil:
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, d.ui, name)
	default:
		http.NotFound(w, r)
	}
}

// page writes Swagger UI's page, or one saying how to install it.
func (d *Docs) page(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if d.ui == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `<!doctype html><html lang="en"><meta charset="utf-8"><title>rollcall API</title>
<p>Swagger UI is not installed (%s is missing): run <code>npm ci</code> in infra/ (make dev does), then reload.
<p>The API document itself: <a href="openapi.json">openapi.json</a>.`, html.EscapeString(d.uiDir))
		return
	}
	fmt.Fprint(w, docsPage)
}

// docsPage is Swagger UI's page: the bundle, the document of this stack, "Try it out" with the
// bearer token given under "Authorize" (kept across reloads), and no call to Swagger's online
// validator.
const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rollcall API (local)</title>
<link rel="stylesheet" href="swagger-ui.css">
<link rel="icon" type="image/png" href="favicon-32x32.png">
<style>
body { margin: 0; }
.rollcall-hint { font: 14px/1.4 sans-serif; margin: 0 auto; max-width: 1420px; padding: 12px 20px 0; box-sizing: border-box; }
.rollcall-hint code { background: #f0f0f0; padding: 1px 4px; }
</style>
</head>
<body>
<p class="rollcall-hint">To try a route: <b>Authorize</b> with a bearer token, e.g. from <code>make -s token SUB=op OPERATOR=1</code> (an operator) or <code>make -s token SUB=alice EMAIL=alice@example.com</code> (any login); then <b>Try it out</b> and <b>Execute</b>.</p>
<div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  displayRequestDuration: true,
  validatorUrl: null,
});
</script>
</body>
</html>
`

// document writes docs/openapi.json with this stack (the request's origin) as its first server.
func (d *Docs) document(w http.ResponseWriter, r *http.Request) {
	b, err := os.ReadFile(d.spec)
	if err != nil {
		d.log.Error("docs: read the API document", "error", err.Error())
		http.Error(w, "the API document is missing: run make docs", http.StatusInternalServerError)
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		d.log.Error("docs: decode the API document", "error", err.Error())
		http.Error(w, "the API document is not valid JSON: run make docs", http.StatusInternalServerError)
		return
	}
	here := map[string]any{"url": "http://" + r.Host, "description": "This local stack (make dev)."}
	servers, _ := doc["servers"].([]any)
	kept := []any{here}
	for _, s := range servers {
		if m, ok := s.(map[string]any); ok && m["url"] == here["url"] {
			continue
		}
		kept = append(kept, s)
	}
	doc["servers"] = kept
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(doc)
}
