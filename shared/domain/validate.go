package domain

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"rollcall/shared/apperr"
	"rollcall/shared/catalog"
)

// Field limits.
const (
	MaxEmailLength = 254
	MaxNameLength  = 100
	MaxTextLength  = 500
)

// NormaliseEmail is how emails are compared (R17, R4, R11): trimmed and lower-cased.
func NormaliseEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

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

// Email checks a required email address and returns it trimmed.
func (p *Problems) Email(field, v string) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		p.Add(field, "is required")
	case len(v) > MaxEmailLength:
		p.Add(field, "must be at most %d characters", MaxEmailLength)
	default:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || !strings.Contains(v[strings.LastIndex(v, "@"):], ".") {
			p.Add(field, "must be an email address like name@example.com")
		}
	}
	return v
}

// Text checks a free-text field: trimmed, at most max characters, required when required is set.
func (p *Problems) Text(field, v string, required bool, max int) string {
	v = strings.TrimSpace(v)
	switch {
	case required && v == "":
		p.Add(field, "is required")
	case utf8.RuneCountInString(v) > max:
		p.Add(field, "must be at most %d characters", max)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }):
		p.Add(field, "must not contain control characters")
	}
	return v
}

var phonePattern = regexp.MustCompile(`^\+?[0-9 ().-]{3,30}$`)

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
