package domain_test

import (
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"rollcall/shared/domain"
)

// FuzzEmail: validation and normalisation never panic; an accepted address is stored in NFC,
// holds no invisible or direction character, validates again unchanged, and compares equal to
// its NFD and upper-case spellings.
func FuzzEmail(f *testing.F) {
	for _, s := range []string{"ann@example.com", "jose\u0301@example.com", "a@[1.2.3.4]", "\u202e@x.y", "\"a b\"@c.d", "A@B.CO", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p domain.Problems
		got := p.Email("email", s)
		n := domain.NormaliseEmail(s)
		if domain.NormaliseEmail(n) != n {
			t.Fatalf("NormaliseEmail is not stable on %q", s)
		}
		if len(p) > 0 {
			return
		}
		if !norm.NFC.IsNormalString(got) {
			t.Fatalf("accepted %q is not NFC", got)
		}
		if strings.ContainsFunc(got, func(r rune) bool { return unicode.Is(unicode.Cf, r) || unicode.IsControl(r) }) {
			t.Fatalf("accepted %q holds an invisible character", got)
		}
		var q domain.Problems
		if again := q.Email("email", got); again != got || len(q) > 0 {
			t.Fatalf("%q validates to %q, then %q %v", s, got, again, q)
		}
		if domain.NormaliseEmail(norm.NFD.String(got)) != domain.NormaliseEmail(got) {
			t.Fatalf("NFD spelling of %q compares differently", got)
		}
	})
}
