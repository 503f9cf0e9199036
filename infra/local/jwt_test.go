package local

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func testSigner(t *testing.T) *Signer {
	t.Helper()
	s, err := GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMintVerifyRoundTrip(t *testing.T) {
	s := testSigner(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }

	tok, err := s.Mint("op", "op@example.com", true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"iss":            TokenIssuer,
		"aud":            TokenAudience,
		"sub":            "op",
		"email":          "op@example.com",
		"email_verified": "true",
		"iat":            strconv.FormatInt(now.Unix(), 10),
		"exp":            strconv.FormatInt(now.Add(time.Hour).Unix(), 10),
		"token_use":      "id",
		"cognito:groups": "[operators]", // arrays reach functions as API Gateway renders them
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %q, want %q", k, claims[k], v)
		}
	}
	if len(claims) != len(want) {
		t.Errorf("claims = %v, want exactly %v", claims, want)
	}

	tok, err = s.Mint("alice", "", false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	claims, err = s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := claims["cognito:groups"]; ok {
		t.Errorf("a login that is not an operator has groups: %v", claims)
	}
	if _, ok := claims["email"]; ok {
		t.Errorf("no email was given, but the token has one: %v", claims)
	}
}

func TestMintRefusesBadInput(t *testing.T) {
	s := testSigner(t)
	if _, err := s.Mint("", "a@example.com", false, time.Hour); err == nil {
		t.Error("minted a token without a subject")
	}
	if _, err := s.Mint("a", "a@example.com", false, 0); err == nil {
		t.Error("minted a token with no lifetime")
	}
}

func TestVerifyRejects(t *testing.T) {
	s := testSigner(t)
	now := time.Now()
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": s.Issuer, "aud": s.Audience, "sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := valid()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	sign := func(c jwt.MapClaims) string {
		tok, err := s.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// Same key id, other key: only the signature tells them apart.
	impostor := testSigner(t)
	impostor.keyID = s.keyID
	forged, err := impostor.Sign(valid())
	if err != nil {
		t.Fatal(err)
	}
	otherKid := testSigner(t)
	unknownKey, err := otherKid.Sign(valid())
	if err != nil {
		t.Fatal(err)
	}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, valid())
	hs.Header["kid"] = s.keyID
	hmacToken, err := hs.SignedString([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	// A valid token whose payload is swapped for another subject's, signature kept.
	parts := strings.Split(sign(valid()), ".")
	other := strings.Split(sign(with("sub", "admin")), ".")
	tampered := parts[0] + "." + other[1] + "." + parts[2]

	cases := map[string]struct{ token, reason string }{
		"expired":           {sign(with("exp", now.Add(-time.Minute).Unix())), "expired"},
		"no exp":            {sign(with("exp", nil)), "exp claim is required"},
		"wrong signature":   {forged, "signature is invalid"},
		"tampered payload":  {tampered, "signature is invalid"},
		"unknown key id":    {unknownKey, "unknown key id"},
		"HS256":             {hmacToken, "signing method HS256 is invalid"},
		"wrong audience":    {sign(with("aud", "someone-else")), "audience"},
		"audience list":     {sign(with("aud", []string{"a", "b"})), "audience"},
		"no aud, client_id": {sign(with("aud", nil)), "client_id"},
		"wrong issuer":      {sign(with("iss", "https://evil.example.com")), "issuer"},
		"not yet valid":     {sign(with("nbf", now.Add(time.Hour).Unix())), "not valid yet"},
		"issued in future":  {sign(with("iat", now.Add(time.Hour).Unix())), "used before issued"},
		"garbage":           {"not-a-jwt", "malformed"},
		"empty":             {"", "malformed"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			claims, err := s.Verify(c.token)
			if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("Verify = %v, %v; want ErrInvalidToken saying %q", claims, err, c.reason)
			}
		})
	}
}

func TestVerifyAcceptsWhatAPIGatewayAccepts(t *testing.T) {
	s := testSigner(t)
	now := time.Now()
	for name, c := range map[string]jwt.MapClaims{
		"aud list holding ours": {"iss": s.Issuer, "aud": []string{"x", s.Audience}, "sub": "a", "exp": now.Add(time.Hour).Unix()},
		"client_id, no aud":     {"iss": s.Issuer, "client_id": s.Audience, "sub": "a", "exp": now.Add(time.Hour).Unix()},
		"nbf in the past":       {"iss": s.Issuer, "aud": s.Audience, "sub": "a", "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()},
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := s.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Verify(tok); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestFlattenClaim(t *testing.T) {
	s := testSigner(t)
	tok, err := s.Sign(jwt.MapClaims{
		"iss": s.Issuer, "aud": s.Audience, "sub": "a", "exp": time.Now().Add(time.Hour).Unix(),
		"groups": []string{"a", "b"}, "verified": true, "n": 1.5, "obj": map[string]any{"k": "v"},
	})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"groups": "[a b]", "verified": "true", "n": "1.5", "obj": `{"k":"v"}`} {
		if claims[k] != want {
			t.Errorf("claim %s = %q, want %q", k, claims[k], want)
		}
	}
}

func TestLoadSignerKeepsOneKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".local")
	// Concurrent first uses (make token while make dev starts) must agree on one key.
	signers := make([]*Signer, 8)
	var wg sync.WaitGroup
	for i := range signers {
		wg.Go(func() {
			s, err := LoadSigner(dir)
			if err != nil {
				t.Error(err)
				return
			}
			signers[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	tok, err := signers[0].Mint("a", "a@example.com", false, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range signers {
		if _, err := s.Verify(tok); err != nil {
			t.Errorf("signer %d does not accept signer 0's token: %v", i, err)
		}
	}
	again, err := LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Verify(tok); err != nil {
		t.Errorf("the key did not persist: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left in %s: %v", dir, entries)
	}

	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigner(dir); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("LoadSigner of a junk file = %v, want an error telling to delete it", err)
	}
}

// A token verified once is not checked with RSA again, but its times are checked on every use,
// and a copy of the Signer with another issuer or audience does not take it from the cache.
func TestVerifyRemembersATokenButChecksItsTimesEachTime(t *testing.T) {
	s := testSigner(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	nbf := now.Add(time.Minute)
	tok, err := s.Sign(jwt.MapClaims{"iss": s.Issuer, "aud": s.Audience, "sub": "a",
		"iat": now.Add(-time.Minute).Unix(), "nbf": nbf.Unix(), "exp": now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	// Not yet valid: refused, and not remembered.
	if _, err := s.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("before nbf: Verify = %v, want ErrInvalidToken", err)
	}
	now = nbf
	first, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.verified.m[tok]; !ok {
		t.Fatal("a verified token is not remembered")
	}
	first["sub"] = "changed by the caller"
	again, err := s.Verify(tok)
	if err != nil || again["sub"] != "a" {
		t.Fatalf("second Verify = %v, %v: want the claims, unchanged by the first caller", again, err)
	}
	// A copy of the signer checking another audience (or issuer) refuses it.
	other := *s
	other.Audience = "another-api"
	if _, err := other.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("another audience: Verify = %v, want ErrInvalidToken", err)
	}
	other = *s
	other.Issuer = "https://elsewhere.example"
	if _, err := other.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("another issuer: Verify = %v, want ErrInvalidToken", err)
	}
	// Going back before nbf, and past exp: refused although remembered.
	now = nbf.Add(-time.Second)
	if _, err := s.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("before nbf, remembered: Verify = %v, want ErrInvalidToken", err)
	}
	now = nbf.Add(time.Hour)
	if _, err := s.Verify(tok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("at exp, remembered: Verify = %v, want ErrInvalidToken (expired)", err)
	}
	// A token with a bad signature is refused every time (nothing remembered for it).
	bad := tok[:len(tok)-4] + "AAAA"
	now = nbf
	for range 2 {
		if _, err := s.Verify(bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("bad signature: Verify = %v, want ErrInvalidToken", err)
		}
	}
}
