package email

import (
	"embed"
	"errors"
	"fmt"
	"html"
	"maps"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"rollcall/shared/domain"
	"rollcall/shared/routes"
)

//go:embed templates
var templateFS embed.FS

// ErrUnknownKind is returned when an invitation's kind has no templates.
var ErrUnknownKind = errors.New("email: unknown invitation kind")

// Longest a user-supplied value may be in an email, in characters; longer ones are cut with "…".
const (
	maxNameRunes  = 100 // account names and inviters, which also go into the subject
	maxEmailRunes = 254 // the recipient's address (RFC 5321's limit)
	maxSubject    = 200
)

// Message is a rendered email: recipient, subject, HTML and plain-text bodies.
type Message struct {
	To      string
	Subject string
	HTML    string
	Text    string
}

// view is what the templates see. Every field that comes from a user has been through clean.
type view struct {
	AccountName string
	Inviter     string
	Recipient   string
	Permissions []string
	Link        string
	ExpiresAt   string
}

// kindTemplates are one kind's templates, as embedded.
type kindTemplates struct {
	subject, text, html, button string
}

// Renderer renders the emails of the three invitation kinds from the templates embedded in the
// binary (templates/: a subject, a plain-text body, an HTML fragment placed in layout.html, and
// the button's label per kind). Templates name values as {{Name}}; the renderer fills them in,
// HTML-escaped in the HTML body. Values from users are first made single-line and stripped of
// control and formatting characters, so that nothing a user types can break a header or a line,
// or reorder text.
//
// It does not use text/template or html/template: their method look-up by name keeps every
// method of the AWS clients in the binary, which then exceeds the 10 MiB budget (DESIGN §7).
type Renderer struct {
	portalURL string
	layout    string
	fragments map[string]string // permissions.html, permission-item.txt, …
	kinds     map[string]kindTemplates
}

// placeholder matches a template's {{Name}}.
var placeholder = regexp.MustCompile(`\{\{([A-Za-z]+)\}\}`)

// NewRenderer reads the embedded templates; links point into portalURL (no trailing slash).
// It returns an error when a template is missing or names a value the renderer does not know,
// which is a build defect.
func NewRenderer(portalURL string) (*Renderer, error) {
	read := func(name string) (string, error) {
		b, err := templateFS.ReadFile("templates/" + name)
		if err != nil {
			return "", fmt.Errorf("email: %w", err)
		}
		return string(b), nil
	}
	r := &Renderer{portalURL: strings.TrimRight(portalURL, "/"), fragments: map[string]string{}, kinds: map[string]kindTemplates{}}
	var err error
	if r.layout, err = read("layout.html"); err != nil {
		return nil, err
	}
	for _, f := range []string{"permissions.html", "permissions.txt", "permission-item.html", "permission-item.txt", "no-permissions.html", "no-permissions.txt"} {
		if r.fragments[f], err = read(f); err != nil {
			return nil, err
		}
	}
	for _, kind := range []string{domain.KindOwner, domain.KindWelcome, domain.KindUser} {
		var t kindTemplates
		for name, dst := range map[string]*string{".subject.txt": &t.subject, ".txt": &t.text, ".html": &t.html, ".button.txt": &t.button} {
			if *dst, err = read(kind + name); err != nil {
				return nil, err
			}
		}
		t.subject, t.button = strings.TrimSpace(t.subject), strings.TrimSpace(t.button)
		r.kinds[kind] = t
	}
	// Render each kind once, so that a template naming an unknown value fails here, not at send.
	for kind := range r.kinds {
		if _, err := r.Render(domain.Invitation{Kind: kind, Permissions: []string{routes.ContactsRead}}, "t"); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Link is the accept link for token: <portal URL>/invitations/accept?token=<token, URL-escaped>.
func (r *Renderer) Link(token string) string {
	return r.portalURL + "/invitations/accept?token=" + url.QueryEscape(token)
}

// fill replaces each {{Name}} of tpl with values[Name]; it returns an error naming a
// placeholder that has no value.
func fill(tpl string, values map[string]string) (string, error) {
	var missing string
	out := placeholder.ReplaceAllStringFunc(tpl, func(m string) string {
		name := m[2 : len(m)-2]
		v, ok := values[name]
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("email: template names unknown value {{%s}}", missing)
	}
	return out, nil
}

// escapeAll returns values with every value HTML-escaped.
func escapeAll(values map[string]string) map[string]string {
	out := make(map[string]string, len(values))
	for k, v := range values {
		out[k] = html.EscapeString(v)
	}
	return out
}

// list renders the permissions with the item fragment of ext ("html" escapes each item), in the
// permissions fragment, or the no-permissions fragment when there are none.
func (r *Renderer) list(items []string, ext string) (string, error) {
	if len(items) == 0 {
		return strings.TrimRight(r.fragments["no-permissions."+ext], "\n"), nil
	}
	var b strings.Builder
	for _, it := range items {
		if ext == "html" {
			it = html.EscapeString(it)
		}
		line, err := fill(r.fragments["permission-item."+ext], map[string]string{"Item": it})
		if err != nil {
			return "", err
		}
		b.WriteString(line)
	}
	return fill(strings.TrimRight(r.fragments["permissions."+ext], "\n"), map[string]string{"Items": strings.TrimRight(b.String(), "\n")})
}

// Render renders the email of invitation inv whose accept token is token. It returns
// ErrUnknownKind for a kind without templates, and a template error otherwise (a build defect).
func (r *Renderer) Render(inv domain.Invitation, token string) (Message, error) {
	t, ok := r.kinds[inv.Kind]
	if !ok {
		return Message{}, ErrUnknownKind
	}
	v := view{
		AccountName: clean(inv.AccountName, maxNameRunes),
		Inviter:     inviter(inv.InvitedBy),
		Recipient:   clean(inv.Email, maxEmailRunes),
		Link:        r.Link(token),
		ExpiresAt:   inv.ExpiresAt.UTC().Format("2 January 2006 at 15:04 UTC"),
	}
	if v.AccountName == "" {
		v.AccountName = "your account"
	}
	for _, p := range inv.Permissions {
		if p = describePermission(p); p != "" {
			v.Permissions = append(v.Permissions, p)
		}
	}
	values := map[string]string{"AccountName": v.AccountName, "Inviter": v.Inviter, "Recipient": v.Recipient, "Link": v.Link, "ExpiresAt": v.ExpiresAt}
	subject, err := fill(t.subject, values)
	if err != nil {
		return Message{}, err
	}
	subject = clean(subject, maxSubject) // one line, whatever the template holds

	textValues := maps.Clone(values)
	if textValues["Permissions"], err = r.list(v.Permissions, "txt"); err != nil {
		return Message{}, err
	}
	text, err := fill(t.text, textValues)
	if err != nil {
		return Message{}, err
	}

	htmlValues := escapeAll(values)
	if htmlValues["Permissions"], err = r.list(v.Permissions, "html"); err != nil {
		return Message{}, err
	}
	content, err := fill(t.html, htmlValues)
	if err != nil {
		return Message{}, err
	}
	htmlValues["Content"] = strings.TrimRight(content, "\n")
	htmlValues["Title"] = html.EscapeString(subject)
	htmlValues["Button"] = html.EscapeString(t.button)
	body, err := fill(r.layout, htmlValues)
	if err != nil {
		return Message{}, err
	}
	return Message{To: inv.Email, Subject: subject, HTML: body, Text: text}, nil
}

// inviter is how a user invitation names who sent it: the inviter's email, or "The support
// team" for an operator (the vendor's staff, whose own addresses are not handed out).
func inviter(by domain.Actor) string {
	if by.Operator {
		return "The support team"
	}
	if name := clean(by.Email, maxNameRunes); name != "" {
		return name
	}
	return "Someone"
}

// permissionText describes the built-in permissions (R8) in words; a deployment's own
// permissions are shown by name.
var permissionText = map[string]string{
	routes.ContactsRead:  "see the account's contacts and support sites",
	routes.ContactsWrite: "add and change contacts",
	routes.SitesWrite:    "relate contacts to support sites",
	routes.AuditRead:     "read the account's audit log",
}

func describePermission(p string) string {
	if d, ok := permissionText[p]; ok {
		return d
	}
	return clean(p, maxNameRunes)
}

// clean makes a user-supplied value safe to place on one line of an email: it drops formatting
// characters (zero-width and bidirectional controls, which can disguise text), turns control
// characters, line and paragraph separators and runs of white space into one space, replaces
// invalid UTF-8, trims, and cuts the result to max characters. Markup is left to the template
// renderer: it is HTML-escaped in the HTML body; the plain-text body and the subject show
// it as typed, where it is inert.
func clean(s string, max int) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	n := 0
	for i, r := range s {
		switch {
		case r == utf8.RuneError && isInvalidAt(s, i):
			r = '\uFFFD'
		case unicode.IsControl(r) || unicode.IsSpace(r) || unicode.In(r, unicode.Zl, unicode.Zp):
			pendingSpace = b.Len() > 0
			continue
		case unicode.Is(unicode.Cf, r):
			continue
		}
		if n >= max {
			return strings.TrimRightFunc(b.String(), unicode.IsSpace) + "…"
		}
		if pendingSpace {
			b.WriteByte(' ')
			n++
			pendingSpace = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func isInvalidAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return r == utf8.RuneError && size <= 1
}
