package signingkey

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"rollcall/shared/config"
)

func resetCache(t *testing.T) {
	t.Helper()
	mu.Lock()
	cache = map[string][]byte{}
	mu.Unlock()
}

func TestLoadCreatesKeyFile(t *testing.T) {
	resetCache(t)
	path := filepath.Join(t.TempDir(), "state", "signing-key")
	key, err := Load(context.Background(), config.Config{SigningKeyFile: path}, aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 {
		t.Fatalf("key is %d bytes, want 32", len(key))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %v, want 0600", perm)
	}
	b, _ := os.ReadFile(path)
	if got := strings.TrimSpace(string(b)); got != hex.EncodeToString(key) {
		t.Fatalf("file holds %q, want the key in hex", got)
	}

	// A new process (empty cache) reads the same key back.
	resetCache(t)
	again, err := Load(context.Background(), config.Config{SigningKeyFile: path}, aws.Config{})
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("second load: %x, %v; want %x", again, err, key)
	}
}

func TestLoadCachesAndCopies(t *testing.T) {
	resetCache(t)
	path := filepath.Join(t.TempDir(), "signing-key")
	cfg := config.Config{SigningKeyFile: path}
	first, err := Load(context.Background(), cfg, aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	first[0] ^= 0xff // the caller's copy: must not change the cache
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	second, err := Load(context.Background(), cfg, aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if second[0] == first[0] {
		t.Fatal("Load returned the cached slice itself")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a cached key was read from the file again")
	}
}

func TestLoadConcurrentFirstUseAgrees(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing-key")
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text, err := fromFile(path) // no cache: as separate processes would
			if err != nil {
				t.Error(err)
				return
			}
			keys[i], _ = Parse(text)
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatalf("processes disagree on the key: %x vs %x", k, keys[0])
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".signing-key-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

func TestLoadFromSecretsManager(t *testing.T) {
	resetCache(t)
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rollcall-dev-signing-key-AbCdEf"
	secret := strings.Repeat("k", 40) // not hex: used as text
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			http.Error(w, "unexpected target "+got, http.StatusBadRequest)
			return
		}
		var in struct{ SecretId string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretId != arn {
			http.Error(w, "unexpected secret id", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": arn, "Name": "rollcall-dev-signing-key", "SecretString": secret})
	}))
	defer srv.Close()
	awsCfg := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
	cfg := config.Config{SigningKeySecret: arn, SigningKeyFile: filepath.Join(t.TempDir(), "ignored")}
	for range 3 {
		key, err := Load(context.Background(), cfg, awsCfg)
		if err != nil {
			t.Fatal(err)
		}
		if string(key) != secret {
			t.Fatalf("key %q, want the secret string", key)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("Secrets Manager called %d times, want 1 (cached)", n)
	}
	if _, err := os.Stat(cfg.SigningKeyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the key file was used although a secret is configured")
	}
}

func TestLoadSecretErrorIsNotCached(t *testing.T) {
	resetCache(t)
	var fail atomic.Bool
	fail.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if fail.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		_, _ = w.Write([]byte(`{"SecretString":"` + strings.Repeat("ab", 32) + `"}`))
	}))
	defer srv.Close()
	awsCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	cfg := config.Config{SigningKeySecret: "arn:aws:secretsmanager:us-east-1:1:secret:x"}
	if _, err := Load(context.Background(), cfg, awsCfg); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("err = %v, want the Secrets Manager error", err)
	}
	fail.Store(false)
	key, err := Load(context.Background(), cfg, awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Repeat([]byte{0xab}, 32); !bytes.Equal(key, want) {
		t.Fatalf("key %x, want the hex-decoded secret %x", key, want)
	}
}

func TestLoadWithoutSource(t *testing.T) {
	if _, err := Load(context.Background(), config.Config{}, aws.Config{}); !errors.Is(err, ErrNoSource) {
		t.Fatalf("err = %v, want ErrNoSource", err)
	}
}

func TestParse(t *testing.T) {
	hex32 := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		name, text string
		wantLen    int
		wantErr    bool
	}{
		{"hex 32 bytes", hex32 + "\n", 32, false},
		{"hex upper case", strings.ToUpper(hex32), 32, false},
		{"text 40 chars", strings.Repeat("Zz", 20), 40, false},
		{"hex too short is text too short", strings.Repeat("0f", 8), 0, true},
		{"text too short", "short", 0, true},
		{"empty", "  \n", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := Parse(tc.text)
			if (err != nil) != tc.wantErr || len(key) != tc.wantLen {
				t.Fatalf("Parse(%q) = %d bytes, %v", tc.text, len(key), err)
			}
		})
	}
}

func TestLoadRejectsShortKeyFile(t *testing.T) {
	resetCache(t)
	path := filepath.Join(t.TempDir(), "signing-key")
	if err := os.WriteFile(path, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), config.Config{SigningKeyFile: path}, aws.Config{}); err == nil {
		t.Fatal("a 3-byte key was accepted")
	}
}
