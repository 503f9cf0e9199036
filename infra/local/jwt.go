package local

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer and audience of the local stack's tokens. The local gateway accepts only tokens that
// carry both, as API Gateway's JWT authorizer accepts only its configured issuer and audiences.
const (
	TokenIssuer   = "https://issuer.rollcall.local"
	TokenAudience = "rollcall-local"
)

// KeyFile is the name of the signing key's file (PKCS #8 PEM) in the state folder.
const KeyFile = "jwt-signing-key.pem"

// ErrInvalidToken is wrapped by every error Verify returns.
var ErrInvalidToken = errors.New("invalid token")

// Signer mints the local stack's JWTs (RS256) and verifies them the way API Gateway's JWT
// authorizer does. It stands in for the identity provider (Cognito in AWS).
type Signer struct {
	Issuer        string           // the iss claim minted and required
	Audience      string           // the aud claim minted and required
	OperatorGroup string           // the group Mint puts in cognito:groups for an operator
	Now           func() time.Time // the clock; nil means time.Now

	key      *rsa.PrivateKey
	keyID    string
	verified *verifiedTokens // shared by copies of the Signer (same key)
}

// verifiedTokens remembers the tokens whose algorithm, key id, signature, issuer and audience
// checked out, with their flattened claims and times, so that a token sent again (every request
// of a session carries the same one) is not verified with RSA again: the RSA check was two thirds
// of the local gateway's own time per request (issue 12). The times are checked again on every
// use, against the Signer's clock, exactly as the parser checks them.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	issuer, audience, keyID string // what the token was checked against
	claims                  map[string]string
	exp                     time.Time
	nbf, iat                *time.Time
}

// maxVerifiedTokens bounds the cache; when it is full it starts again empty.
const maxVerifiedTokens = 4096

// NewSigner returns a Signer with key, the local issuer and audience, and the default operator
// group "operators".
func NewSigner(key *rsa.PrivateKey) *Signer {
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(pub)
	return &Signer{
		Issuer:        TokenIssuer,
		Audience:      TokenAudience,
		OperatorGroup: "operators",
		key:           key,
		keyID:         base64.RawURLEncoding.EncodeToString(sum[:12]),
		verified:      &verifiedTokens{m: map[string]verifiedToken{}},
	}
}

// GenerateSigner returns a Signer with a new key that is kept nowhere (for tests).
func GenerateSigner() (*Signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("local: generate signing key: %w", err)
	}
	return NewSigner(key), nil
}

// LoadSigner returns a Signer with the key kept in dir/KeyFile, generating and writing it
// (owner-only) on first use. Concurrent first uses agree on one key. It returns an error when
// the folder cannot be written or the file does not hold an RSA key.
func LoadSigner(dir string) (*Signer, error) {
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = createKeyFile(dir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("local: signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("local: %s holds no PEM block; delete it to get a new key", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	rsaKey, ok := key.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("local: %s holds no RSA private key; delete it to get a new key", path)
	}
	return NewSigner(rsaKey), nil
}

// createKeyFile writes a new key to path without ever exposing a partial file: it writes a
// temporary file and links it into place, and reads the winner's key when another process was
// first.
func createKeyFile(dir, path string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	tmp, err := os.CreateTemp(dir, KeyFile+".*") // mode 0600
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	} else if err != nil {
		return nil, err
	}
	return b, nil
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Mint returns a signed token for login sub, valid for ttl, shaped like a Cognito ID token: iss,
// aud, sub, email and email_verified (when given), iat, exp, token_use, and cognito:groups holding the operator
// group when operator is true. It returns an error when sub is empty or ttl is not positive.
func (s *Signer) Mint(sub, email string, operator bool, ttl time.Duration) (string, error) {
	if sub == "" {
		return "", errors.New("local: a token needs a subject (sub)")
	}
	if ttl <= 0 {
		return "", errors.New("local: a token's lifetime must be positive")
	}
	now := s.now()
	claims := jwt.MapClaims{
		"iss":       s.Issuer,
		"aud":       s.Audience,
		"sub":       sub,
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"token_use": "id",
	}
	if email != "" {
		claims["email"] = email
		claims["email_verified"] = true // as Cognito marks an address the user confirmed
	}
	if operator {
		claims["cognito:groups"] = []string{s.OperatorGroup}
	}
	return s.Sign(claims)
}

// Sign signs arbitrary claims with the signer's key (RS256, with its key id), for tests that need
// tokens Mint would not make.
func (s *Signer) Sign(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = s.keyID
	return t.SignedString(s.key)
}

// Verify checks token as API Gateway's JWT authorizer does: algorithm RS256 and a key id this
// signer knows, the signature, iss equal to Issuer, aud holding Audience (or, without aud,
// client_id equal to it), exp present and in the future, nbf and iat (when present) not in the
// future. It returns the claims flattened the way API Gateway hands them to a function: every
// value a string, numbers in decimal, arrays as "[a b]". Every error wraps ErrInvalidToken.
func (s *Signer) Verify(token string) (map[string]string, error) {
	if claims, ok := s.cached(token); ok {
		return claims, nil
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(s.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithJSONNumber(),
		jwt.WithTimeFunc(s.now),
	)
	claims := jwt.MapClaims{}
	_, err := p.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != s.keyID {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return &s.key.PublicKey, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if err := s.checkAudience(claims); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	flat := make(map[string]string, len(claims))
	for k, v := range claims {
		flat[k] = flattenClaim(v)
	}
	s.remember(token, claims, flat)
	return flat, nil
}

// cached returns a copy of the claims of token when it was verified before against the Signer's
// issuer, audience and key and its times hold now (exp in the future, nbf and iat not); else
// false, and Verify checks it in full (and says what is wrong).
func (s *Signer) cached(token string) (map[string]string, bool) {
	if s.verified == nil {
		return nil, false
	}
	s.verified.mu.Lock()
	v, ok := s.verified.m[token]
	s.verified.mu.Unlock()
	if !ok || v.issuer != s.Issuer || v.audience != s.Audience || v.keyID != s.keyID {
		return nil, false
	}
	now := s.now()
	if !now.Before(v.exp) || (v.nbf != nil && now.Before(*v.nbf)) || (v.iat != nil && now.Before(*v.iat)) {
		return nil, false
	}
	return maps.Clone(v.claims), true
}

// remember caches a token Verify accepted, with the times it must check again.
func (s *Signer) remember(token string, claims jwt.MapClaims, flat map[string]string) {
	if s.verified == nil {
		return
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return
	}
	v := verifiedToken{issuer: s.Issuer, audience: s.Audience, keyID: s.keyID, claims: maps.Clone(flat), exp: exp.Time}
	for _, get := range []struct {
		f   func() (*jwt.NumericDate, error)
		dst **time.Time
	}{{claims.GetNotBefore, &v.nbf}, {claims.GetIssuedAt, &v.iat}} {
		d, err := get.f()
		if err != nil {
			return
		}
		if d != nil {
			t := d.Time
			*get.dst = &t
		}
	}
	s.verified.mu.Lock()
	defer s.verified.mu.Unlock()
	if len(s.verified.m) >= maxVerifiedTokens {
		clear(s.verified.m)
	}
	s.verified.m[token] = v
}

func (s *Signer) checkAudience(claims jwt.MapClaims) error {
	aud, err := claims.GetAudience()
	if err != nil {
		return err
	}
	if len(aud) == 0 {
		if id, _ := claims["client_id"].(string); id == s.Audience {
			return nil
		}
		return errors.New("token has neither aud nor a client_id of this API")
	}
	for _, a := range aud {
		if a == s.Audience {
			return nil
		}
	}
	return fmt.Errorf("token audience %v is not %q", []string(aud), s.Audience)
}

// flattenClaim renders a claim value as API Gateway does for a JWT authorizer's claims.
func flattenClaim(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = flattenClaim(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
