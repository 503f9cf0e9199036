package domain

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"rollcall/shared/apperr"
	"rollcall/shared/catalog"
)

// Field is what one string field of a request body accepts. Validation reads these values, and
// so does the API document's generator (Limits), so that the documented limits are the enforced
// ones.
type Field struct {
	MaxLength  int    // at most this many characters (Unicode code points, after trimming)
	SingleLine bool   // line breaks and tabs refused
	Format     string // "email" for an address, else ""
	Pattern    string // a regular expression the value must match, else ""
}

// The kinds of string field.
var (
	// EmailField is an email address: name@domain.tld, NFC-normalised, without display name,
	// quoted local part, domain literal or invisible character (R16, R17).
	EmailField = Field{MaxLength: 254, SingleLine: true, Format: "email"}
	// NameField is a person's name, an account's name or a legacy id: one line.
	NameField = Field{MaxLength: 100, SingleLine: true}
	// SiteNameField is a support site's name (a main site's name holds the account's name and
	// legacy id, R20).
	SiteNameField = Field{MaxLength: 200, SingleLine: true}
	// TextField is free text that may span lines (company, address).
	TextField = Field{MaxLength: 500}
	// PhoneField is a phone number.
	PhoneField = Field{MaxLength: 30, SingleLine: true, Pattern: `^\+?[0-9 ().-]{3,30}$`}
)

// Limits maps each string field of the request bodies ("Type.jsonName") to what it accepts; a
// test checks that every string field of every input type has an entry.
var Limits = map[string]Field{
	"CreateAccountInput.name":      NameField,
	"CreateAccountInput.type":      {MaxLength: 20, SingleLine: true, Pattern: `^(customer|partner)$`},
	"CreateAccountInput.legacyId":  NameField,
	"UpdateAccountInput.name":      NameField,
	"UpdateAccountInput.type":      {MaxLength: 20, SingleLine: true, Pattern: `^(customer|partner)$`},
	"UpdateAccountInput.legacyId":  NameField,
	"OwnerInput.firstName":         NameField,
	"OwnerInput.lastName":          NameField,
	"OwnerInput.email":             EmailField,
	"OwnerInput.phone":             PhoneField,
	"OwnerInput.company":           TextField,
	"OwnerInput.address":           TextField,
	"CreateContactInput.email":     EmailField,
	"CreateContactInput.firstName": NameField,
	"CreateContactInput.lastName":  NameField,
	"CreateContactInput.phone":     PhoneField,
	"UpdateContactInput.email":     EmailField,
	"UpdateContactInput.firstName": NameField,
	"UpdateContactInput.lastName":  NameField,
	"UpdateContactInput.phone":     PhoneField,
	"CreateInvitationInput.email":  EmailField,
	"CreateSiteInput.name":         SiteNameField,
	"CreateSiteInput.legacyId":     NameField,
}

// Field limits in characters, as before Field (kept for readers of the constants).
const (
	MaxEmailLength = 254
	MaxNameLength  = 100
	MaxTextLength  = 500
)

// NormaliseEmail is how emails are compared (R17, R4, R11): trimmed, lower-cased and in Unicode
// normal form C (so that "é" typed as one character or as "e" and an accent is one address).
// NFC comes last: lower-casing can undo it (it turns invalid UTF-8 into U+FFFD, which a
// following combining mark then no longer composes with), so the result normalises to itself.
func NormaliseEmail(email string) string {
	return norm.NFC.String(strings.ToLower(strings.TrimSpace(email)))
}

// directional reports whether r changes the direction of the text around it: the bidirectional
// embeddings, overrides and isolates and the direction marks, which can make a value display as
// something it is not.
func directional(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// invisible reports whether r has no place in an email address: a control, format (zero-width,
// direction, byte-order mark) or line/paragraph separator character.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp)
}

// Problems collects field errors while validating one request.
type Problems []apperr.FieldError

// Add records that field is wrong.
func (p *Problems) Add(field, format string, args ...any) {
	*p = append(*p, apperr.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err is nil when nothing was recorded, else a 400 listing every field.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return apperr.Invalid(p...)
}

// Email checks a required email address and returns it trimmed and NFC-normalised.
func (p *Problems) Email(field, v string) string {
	v = norm.NFC.String(strings.TrimSpace(v))
	at := strings.LastIndex(v, "@")
	switch {
	case v == "":
		p.Add(field, "is required")
	case utf8.RuneCountInString(v) > EmailField.MaxLength:
		p.Add(field, "must be at most %d characters", EmailField.MaxLength)
	case strings.ContainsFunc(v, invisible):
		p.Add(field, "must not contain control, invisible or direction-changing characters")
	case at < 1 || strings.HasPrefix(v[at+1:], "["):
		p.Add(field, "must be an email address like name@example.com (a domain name, not an IP address)")
	case strings.Contains(v, `"`):
		p.Add(field, "must be an email address like name@example.com (no quoted part)")
	default:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || !strings.Contains(v[at:], ".") || strings.HasSuffix(v, ".") {
			p.Add(field, "must be an email address like name@example.com")
		}
	}
	return v
}

// Str checks a string field of kind f: trimmed and NFC-normalised, at most f.MaxLength
// characters, required when required is set, without control characters (line breaks and tabs
// are allowed in multi-line fields only) or direction-changing ones.
func (p *Problems) Str(field, v string, required bool, f Field) string {
	v = norm.NFC.String(strings.TrimSpace(v))
	switch {
	case required && v == "":
		p.Add(field, "is required")
	case utf8.RuneCountInString(v) > f.MaxLength:
		p.Add(field, "must be at most %d characters", f.MaxLength)
	case f.SingleLine && strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) }):
		p.Add(field, "must be one line, without control characters")
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }):
		p.Add(field, "must not contain control characters")
	case strings.ContainsFunc(v, directional):
		p.Add(field, "must not contain direction-changing characters")
	}
	return v
}

var phonePattern = regexp.MustCompile(PhoneField.Pattern)

// Phone checks an optional phone number.
func (p *Problems) Phone(field, v string) string {
	v = strings.TrimSpace(v)
	if v != "" && !phonePattern.MatchString(v) {
		p.Add(field, "must be a phone number of digits, spaces and + ( ) . -")
	}
	return v
}

// OneOf checks that every value is allowed and none repeats; it returns the values in order.
func (p *Problems) OneOf(field string, values []string, allowed func(string) bool, what string) []string {
	seen := map[string]bool{}
	for i, v := range values {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !allowed(v):
			p.Add(f, "%q is not a known %s", v, what)
		case seen[v]:
			p.Add(f, "%q is repeated", v)
		}
		seen[v] = true
	}
	return slices.Clone(values)
}

// Permissions checks a list of permissions against the catalog (R8): known, none repeated.
func (p *Problems) Permissions(field string, perms []string, cat catalog.Catalog) []string {
	out := p.OneOf(field, perms, cat.HasPermission, "permission")
	if out == nil {
		out = []string{}
	}
	return out
}
