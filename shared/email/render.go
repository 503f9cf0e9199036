package email

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
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

type kindTemplates struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// Renderer renders the emails of the three invitation kinds from the templates embedded in the
// binary: subject and plain text with text/template, HTML with html/template (which escapes
// every value for its context). Values from users are first made single-line and stripped of
// control and formatting characters, so that nothing a user types can break a header or a line,
// or reorder text.
type Renderer struct {
	portalURL string
	kinds     map[string]kindTemplates
}

// NewRenderer parses the embedded templates; links point into portalURL (no trailing slash).
// It returns an error when a template does not parse, which is a build defect.
func NewRenderer(portalURL string) (*Renderer, error) {
	r := &Renderer{portalURL: strings.TrimRight(portalURL, "/"), kinds: map[string]kindTemplates{}}
	for _, kind := range []string{domain.KindOwner, domain.KindWelcome, domain.KindUser} {
		subject, err := texttemplate.New(kind+".subject.txt").Option("missingkey=error").ParseFS(templateFS, "templates/"+kind+".subject.txt")
		if err != nil {
			return nil, fmt.Errorf("email: %w", err)
		}
		text, err := texttemplate.New(kind+".txt").Option("missingkey=error").ParseFS(templateFS, "templates/"+kind+".txt")
		if err != nil {
			return nil, fmt.Errorf("email: %w", err)
		}
		html, err := htmltemplate.New("layout").Option("missingkey=error").ParseFS(templateFS, "templates/layout.html", "templates/"+kind+".html")
		if err != nil {
			return nil, fmt.Errorf("email: %w", err)
		}
		r.kinds[kind] = kindTemplates{subject: subject, text: text, html: html}
	}
	return r, nil
}

// Link is the accept link for token: <portal URL>/invitations/accept?token=<token, URL-escaped>.
func (r *Renderer) Link(token string) string {
	return r.portalURL + "/invitations/accept?token=" + url.QueryEscape(token)
}

// Render renders the email of invitation inv whose accept token is token. It returns
// ErrUnknownKind for a kind without templates, and a template execution error otherwise (a
// build defect).
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
	var subject, text, html bytes.Buffer
	if err := t.subject.Execute(&subject, v); err != nil {
		return Message{}, fmt.Errorf("email: render %s subject: %w", inv.Kind, err)
	}
	if err := t.text.Execute(&text, v); err != nil {
		return Message{}, fmt.Errorf("email: render %s text: %w", inv.Kind, err)
	}
	if err := t.html.ExecuteTemplate(&html, "layout", v); err != nil {
		return Message{}, fmt.Errorf("email: render %s html: %w", inv.Kind, err)
	}
	return Message{
		To:      inv.Email,
		Subject: clean(subject.String(), maxSubject), // one line, whatever the template holds
		HTML:    html.String(),
		Text:    text.String(),
	}, nil
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
// engine: html/template escapes it in the HTML body; the plain-text body and the subject show
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
