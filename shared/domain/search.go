package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxSearchTerm is the longest folded term (in bytes) a contact is found by: longer emails and
// names are indexed by their first MaxSearchTerm bytes, and longer queries are cut likewise.
const MaxSearchTerm = 200

// FoldSearch is the form contact search compares (?q=): lower-cased, accents removed
// (canonical decomposition without the combining marks), spaces trimmed and runs of white space
// made one space, cut to MaxSearchTerm bytes on a character boundary.
func FoldSearch(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	out := b.String()
	if len(out) > MaxSearchTerm {
		cut := MaxSearchTerm
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut]
	}
	return out
}

// SearchTerms are the folded terms contact c is found by: a ?q= matches when it is a prefix of
// one of them (its email, first name, last name, or "first last"). Distinct, in that order.
func SearchTerms(c Contact) []string {
	var terms []string
	add := func(s string) {
		t := FoldSearch(s)
		if t == "" {
			return
		}
		for _, have := range terms {
			if have == t {
				return
			}
		}
		terms = append(terms, t)
	}
	add(c.Email)
	add(c.FirstName)
	add(c.LastName)
	if c.FirstName != "" && c.LastName != "" {
		add(c.FirstName + " " + c.LastName)
	}
	return terms
}
