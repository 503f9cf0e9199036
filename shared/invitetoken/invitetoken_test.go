package invitetoken

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func key(c byte) []byte { return bytes.Repeat([]byte{c}, 32) }

// A link issued before one rotation still works; one issued before two does not.
func TestRotation(t *testing.T) {
	k1, k2, k3 := key('1'), key('2'), key('3')
	s1, _ := NewSigner(k1)
	tok := s1.Token("acc", "inv", "nonce")
	if parts := strings.Split(tok, "."); len(parts) != 4 || parts[2] != KeyID(k1) {
		t.Fatalf("token %q does not carry its key id %s", tok, KeyID(k1))
	}
	s2, _ := NewSigner(k2, k1) // after one rotation: current k2, previous k1
	if !s2.Verify(tok, "acc", "inv", "nonce") {
		t.Fatal("a link issued before one rotation is refused")
	}
	if !s2.Verify(s2.Token("acc", "inv", "nonce"), "acc", "inv", "nonce") {
		t.Fatal("a link issued after the rotation is refused")
	}
	s3, _ := NewSigner(k3, k2) // after two rotations
	if s3.Verify(tok, "acc", "inv", "nonce") {
		t.Fatal("a link issued before two rotations is accepted")
	}
	if s3.Verify(tok, "acc", "inv", "other-nonce") || s2.Verify(tok, "acc", "other", "nonce") {
		t.Fatal("a token verifies for another send or invitation")
	}
}

// Tokens made before key ids (three parts) are checked under both keys.
func TestTokensWithoutKeyID(t *testing.T) {
	k1, k2 := key('1'), key('2')
	legacy := "acc.inv." + strings.Split(mustSigner(t, k1).Token("acc", "inv", "n"), ".")[3]
	if !mustSigner(t, k1).Verify(legacy, "acc", "inv", "n") || !mustSigner(t, k2, k1).Verify(legacy, "acc", "inv", "n") {
		t.Fatal("a token without key id is refused under its key")
	}
	if mustSigner(t, key('3'), k2).Verify(legacy, "acc", "inv", "n") {
		t.Fatal("a token without key id verifies under other keys")
	}
}

// A function that started before a rotation learns the new key from the first link made with it
// (at most one reload per interval).
func TestReloadOnUnknownKey(t *testing.T) {
	k1, k2 := key('1'), key('2')
	fresh := mustSigner(t, k2, k1).Token("acc", "inv", "n")
	loads := 0
	stale := mustSigner(t, k1).ReloadEvery(time.Hour, func() ([][]byte, error) { loads++; return [][]byte{k2, k1}, nil })
	if !stale.Verify(fresh, "acc", "inv", "n") || loads != 1 {
		t.Fatalf("stale signer: verify after reload failed (loads %d)", loads)
	}
	forged := "acc.inv.deadbeef." + strings.Split(fresh, ".")[3]
	if stale.Verify(forged, "acc", "inv", "n") || loads != 1 {
		t.Fatalf("an unknown key id verified or reloaded again within the interval (loads %d)", loads)
	}
}

func TestMalformed(t *testing.T) {
	for _, tok := range []string{"", "a.b", "a..c", "a.b.c.d.e", "a.b.c."} {
		if _, _, err := Parse(tok); err != ErrMalformed {
			t.Errorf("Parse(%q) = %v", tok, err)
		}
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Error("short key accepted")
	}
}

func mustSigner(t *testing.T, current []byte, previous ...[]byte) *Signer {
	t.Helper()
	s, err := NewSigner(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
