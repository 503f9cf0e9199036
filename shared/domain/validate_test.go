package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"rollcall/shared/catalog"
	"rollcall/shared/domain"
)

var fixed = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

// Finding 7: NFC and NFD spellings of one address are one address (R17).
func TestEmailsAreComparedInNormalFormC(t *testing.T) {
	nfc, nfd := "jos\u00e9@example.com", "jose\u0301@example.com"
	if domain.NormaliseEmail(nfc) != domain.NormaliseEmail(nfd) {
		t.Fatalf("NormaliseEmail(%q) = %q, NormaliseEmail(%q) = %q", nfc, domain.NormaliseEmail(nfc), nfd, domain.NormaliseEmail(nfd))
	}
	var p domain.Problems
	if got := p.Email("email", nfd); got != nfc || len(p) != 0 {
		t.Fatalf("Email(%q) = %q, problems %v; want it stored as %q", nfd, got, p, nfc)
	}
}

// Finding 7: direction overrides, invisible characters, domain literals and quoted parts are not
// addresses.
func TestEmailRefusesWhatDisplaysAsAnotherAddress(t *testing.T) {
	bad := []string{
		"a@[1.2.3.4]",
		"a@[IPv6:::1]",
		"moc.elpmaxe@\u202eevil.com",
		"ann\u200b@example.com",
		"ann@exam\u2066ple.com",
		"\"ann smith\"@example.com",
		"ann\n@example.com",
		"ann@example.",
		"ann@localhost",
		"@example.com",
	}
	for _, v := range bad {
		var p domain.Problems
		p.Email("email", v)
		if len(p) == 0 {
			t.Errorf("Email(%q) accepted", v)
		}
	}
	for _, v := range []string{"ann@example.com", "Ann.O'Neil+tag@sub.example.co.uk", "jos\u00e9@b\u00fccher.example"} {
		var p domain.Problems
		p.Email("email", v)
		if len(p) != 0 {
			t.Errorf("Email(%q): %v", v, p)
		}
	}
}

// Finding 7: names are one line; free text may span lines; neither holds direction overrides.
func TestNamesAreOneLine(t *testing.T) {
	cat := catalog.Default()
	owner := func(first string) domain.CreateAccountInput {
		return domain.CreateAccountInput{Name: "Acme", Owner: domain.OwnerInput{
			FirstName: domain.Optional[string]{Set: true, Value: first}, LastName: domain.Optional[string]{Set: true, Value: "L"},
			Email: domain.Optional[string]{Set: true, Value: "a@example.com"}}}
	}
	for _, v := range []string{"Ann\nSmith", "Ann\rSmith", "Ann\tSmith", "Ann\u2028Smith", "\u202eAnn"} {
		if _, err := domain.NewAccount("acc_1", owner(v), cat, fixed); err == nil {
			t.Errorf("owner first name %q accepted", v)
		}
		in := owner("Ann")
		in.Name = v
		if _, err := domain.NewAccount("acc_1", in, cat, fixed); err == nil {
			t.Errorf("account name %q accepted", v)
		}
		if _, err := domain.NewContact("con_1", "acc_1", domain.CreateContactInput{Email: "a@example.com", LastName: v}, cat, fixed); err == nil {
			t.Errorf("contact last name %q accepted", v)
		}
		if _, err := domain.NewSite("site_1", "acc_1", domain.CreateSiteInput{Name: v}); err == nil {
			t.Errorf("site name %q accepted", v)
		}
	}
	in := owner("Ann")
	in.Owner.Address = domain.Optional[string]{Set: true, Value: "1 Main St\nSpringfield"}
	if _, err := domain.NewAccount("acc_1", in, cat, fixed); err != nil {
		t.Errorf("a two-line address: %v", err)
	}
	in.Owner.Address.Value = "1 Main St\u202e"
	if _, err := domain.NewAccount("acc_1", in, cat, fixed); err == nil {
		t.Error("an address with a direction override was accepted")
	}
	// Limits count characters, not bytes.
	if _, err := domain.NewContact("con_1", "acc_1", domain.CreateContactInput{Email: "a@example.com", FirstName: strings.Repeat("é", 100)}, cat, fixed); err != nil {
		t.Errorf("100 two-byte characters: %v", err)
	}
}

// Every string field of every request body has its limits in domain.Limits (which validation and
// the API document read), and every entry names a real field.
func TestEveryStringFieldHasLimits(t *testing.T) {
	types := []any{domain.CreateAccountInput{}, domain.UpdateAccountInput{}, domain.OwnerInput{}, domain.CreateContactInput{},
		domain.UpdateContactInput{}, domain.CreateInvitationInput{}, domain.CreateSiteInput{}}
	seen := map[string]bool{}
	for _, v := range types {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			f := rt.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			key := rt.Name() + "." + name
			ft := f.Type
			if m, ok := reflect.New(ft).Interface().(interface{ OptionalValue() reflect.Type }); ok {
				ft = m.OptionalValue()
			}
			if ft.Kind() != reflect.String {
				continue
			}
			seen[key] = true
			if _, ok := domain.Limits[key]; !ok {
				t.Errorf("%s has no entry in domain.Limits", key)
			}
		}
	}
	for k := range domain.Limits {
		if !seen[k] {
			t.Errorf("domain.Limits has %s, which no request body has", k)
		}
	}
}
