package local

import (
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/mail"
	"os"
	"path"
	"strings"
	"time"

	"rollcall/shared/apperr"
	"rollcall/shared/httpapi"
	"rollcall/shared/routes"
)

// LocalTokenPath is the local stack's token endpoint behind the console's "sign in as" form. It
// exists only here, in the local stack: it is not in the route table, so no deployed stage has
// it (a test checks that).
const LocalTokenPath = "/_local/token"

// ConsoleConfigPath is where the console reads its stage settings. Deployed, the stack writes
// the file next to the console; locally the console handler answers it with local sign-in.
const ConsoleConfigPath = "/config.json"

// consoleCSP is the Content-Security-Policy of the console's pages: everything from the one
// origin, nothing inline, no framing.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Console serves the built web console (web/dist) beside the API on one origin, as `make dev`
// runs it:
//   - GET or HEAD of a file of the build (index.html, assets/…) answers the file;
//   - GET or HEAD that a browser makes for a page (Accept names text/html) answers index.html,
//     so a link such as /invitations/accept?token=… opens the console's page, never the API;
//   - GET /config.json answers the console's local settings (sign in with the form);
//   - POST /_local/token mints a bearer token for the "sign in as" form;
//   - everything else goes to the API.
type Console struct {
	api    http.Handler
	files  fs.FS // the build; nil when it is missing
	dir    string
	signer *Signer
	log    *slog.Logger
	// TTL is how long the tokens of the sign-in form are valid.
	TTL time.Duration
}

// NewConsole returns a handler serving the console built in dir (web/dist) in front of api, with
// a sign-in form whose tokens signer mints. A missing build is not an error: pages then say how to
// build it (make web).
func NewConsole(api http.Handler, dir string, signer *Signer, log *slog.Logger) *Console {
	if log == nil {
		log = slog.Default()
	}
	c := &Console{api: api, dir: dir, signer: signer, log: log, TTL: 12 * time.Hour}
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		c.files = os.DirFS(dir)
	}
	return c
}

// Built reports whether the console's build was found.
func (c *Console) Built() bool {
	if c.files == nil {
		return false
	}
	_, err := fs.Stat(c.files, "index.html")
	return err == nil
}

// ServeHTTP routes one request as the type's comment says.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == LocalTokenPath:
		c.serveToken(w, r)
		return
	case r.URL.Path == ConsoleConfigPath && isRead(r):
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"signIn": "local", "apiUrl": "", "operatorGroup": c.signer.OperatorGroup})
		return
	}
	if isRead(r) {
		if name, ok := c.file(r.URL.Path); ok {
			c.serveFile(w, r, name)
			return
		}
		if wantsHTML(r) {
			c.serveFile(w, r, "index.html")
			return
		}
	}
	c.api.ServeHTTP(w, r)
}

func isRead(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }

// wantsHTML reports whether r is a browser asking for a page.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// file returns the build's file for urlPath, when it is a regular file of the build and not a
// path of the API (the API wins any clash).
func (c *Console) file(urlPath string) (string, bool) {
	if c.files == nil {
		return "", false
	}
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if name == "" || name == "index.html" {
		return "", false // pages go through wantsHTML, so that the API keeps GET / semantics
	}
	if _, _, _, known := routes.Match(http.MethodGet, urlPath); known {
		return "", false
	}
	st, err := fs.Stat(c.files, name)
	if err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	return name, true
}

// serveFile answers a file of the build: hashed assets are cached for good, pages never, and
// pages carry the console's security headers.
func (c *Console) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(name, "assets/") {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if name == "index.html" {
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Frame-Options", "DENY")
		if !c.Built() {
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, notBuiltPage)
			return
		}
	}
	http.ServeFileFS(w, r, c.files, name)
}

const notBuiltPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rollcall console not built</title></head>
<body><main><h1>The console is not built</h1><p>Run <code>make web</code> (or <code>make dev</code>, which builds it) and reload.</p></main></body></html>
`

// tokenRequest is the body of POST /_local/token.
type tokenRequest struct {
	Sub      string `json:"sub"`
	Email    string `json:"email"`
	Operator bool   `json:"operator"`
}

// tokenResponse answers it: the bearer token and its lifetime.
type tokenResponse struct {
	Token     string `json:"token"`
	ExpiresIn int    `json:"expiresIn"` // seconds
}

// serveToken mints a token for the sign-in form: 405 for another method than POST, 400 with
// field errors for a missing subject or an invalid email.
func (c *Console) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		resp := httpapi.Problem(c.log, apperr.New(http.StatusMethodNotAllowed, apperr.CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
		resp.Headers["Allow"] = http.MethodPost
		writeResponse(w, resp)
		return
	}
	var in tokenRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeResponse(w, httpapi.Problem(c.log, apperr.InvalidField("", "the body must be a JSON object {sub, email, operator}")))
		return
	}
	in.Sub, in.Email = strings.TrimSpace(in.Sub), strings.TrimSpace(in.Email)
	var fields []apperr.FieldError
	if in.Sub == "" {
		fields = append(fields, apperr.FieldError{Field: "sub", Message: "enter a subject (the login's id), e.g. alice"})
	}
	if in.Email == "" && in.Sub != "" {
		in.Email = in.Sub + "@example.com"
	}
	if a, err := mail.ParseAddress(in.Email); in.Email != "" && (err != nil || a.Address != in.Email) {
		fields = append(fields, apperr.FieldError{Field: "email", Message: "enter an email address such as ada@example.com"})
	}
	if len(fields) > 0 {
		writeResponse(w, httpapi.Problem(c.log, apperr.Invalid(fields...)))
		return
	}
	tok, err := c.signer.Mint(in.Sub, in.Email, in.Operator, c.TTL)
	if err != nil {
		writeResponse(w, httpapi.Problem(c.log, apperr.New(http.StatusInternalServerError, apperr.CodeInternal, "the token could not be made")))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(tokenResponse{Token: tok, ExpiresIn: int(c.TTL / time.Second)})
}
