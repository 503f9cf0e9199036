// Package signingkey loads the stage's invitation signing key (R15): from AWS Secrets Manager in
// AWS, or from a local file on a laptop. The key is read once per process and cached, so a
// function pays for the Secrets Manager call at cold start only.
//
// The secret (or file) holds the key as text. When that text is hex for at least
// invitetoken.MinKeyBytes bytes, the key is the decoded bytes; otherwise the key is the text's
// bytes themselves, which must then be at least invitetoken.MinKeyBytes long. Every function
// reads the key through this package, so they all agree on it whichever form the secret takes.
package signingkey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"rollcall/shared/config"
	"rollcall/shared/invitetoken"
)

// ErrNoSource is returned when the configuration names neither a secret nor a key file.
var ErrNoSource = errors.New("signingkey: neither " + config.EnvSigningKeySecret + " nor " +
	config.EnvSigningKeyFile + " is set")

var (
	mu    sync.Mutex
	cache = map[string][]byte{} // by source: "secret:<arn>" or "file:<path>"
)

// Load returns the signing key named by cfg: the secret cfg.SigningKeySecret (read with a Secrets
// Manager client built from awsCfg) when it is set, else the file cfg.SigningKeyFile, which is
// created with a new random key (32 bytes, hex, mode 0600) when it does not exist. A key loaded
// successfully is cached for the life of the process; failures are not, so a later call retries.
//
// It returns ErrNoSource when neither is configured, the Secrets Manager or file system error
// when the key cannot be read, and an error when the key is shorter than
// invitetoken.MinKeyBytes. The returned slice is the caller's own copy.
func Load(ctx context.Context, cfg config.Config, awsCfg aws.Config) ([]byte, error) {
	var source string
	switch {
	case cfg.SigningKeySecret != "":
		source = "secret:" + cfg.SigningKeySecret
	case cfg.SigningKeyFile != "":
		source = "file:" + cfg.SigningKeyFile
	default:
		return nil, ErrNoSource
	}
	mu.Lock()
	defer mu.Unlock()
	if key, ok := cache[source]; ok {
		return append([]byte(nil), key...), nil
	}
	var (
		text string
		err  error
	)
	if cfg.SigningKeySecret != "" {
		text, err = fromSecret(ctx, cfg.SigningKeySecret, awsCfg)
	} else {
		text, err = fromFile(cfg.SigningKeyFile)
	}
	if err != nil {
		return nil, err
	}
	key, err := Parse(firstLine(text))
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, source)
	}
	cache[source] = key
	return append([]byte(nil), key...), nil
}

// Parse turns the text of a secret or key file into the key: hex-decoded when the trimmed text
// is hex for at least invitetoken.MinKeyBytes bytes, else the trimmed text's bytes. It returns
// an error when the key is shorter than invitetoken.MinKeyBytes.
func Parse(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if b, err := hex.DecodeString(text); err == nil && len(b) >= invitetoken.MinKeyBytes {
		return b, nil
	}
	if len(text) < invitetoken.MinKeyBytes {
		return nil, fmt.Errorf("signingkey: the key must be at least %d bytes (or hex for as many)", invitetoken.MinKeyBytes)
	}
	return []byte(text), nil
}

// firstLine is text up to its first line break (a key file may hold the previous key on its
// second line).
func firstLine(text string) string {
	text = strings.TrimSpace(text)
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		return text[:i]
	}
	return text
}

// LoadKeys returns the current key and, when the stage keeps one, the previous key: the
// secret's AWSPREVIOUS version (which Secrets Manager keeps when a new value is put: `make
// rotate-signing-key`), or the second line of the local key file. The current key comes from
// Load (cached); fresh re-reads the source, for a function that meets a key it does not know.
func LoadKeys(ctx context.Context, cfg config.Config, awsCfg aws.Config, fresh bool) ([][]byte, error) {
	if fresh {
		mu.Lock()
		delete(cache, "secret:"+cfg.SigningKeySecret)
		delete(cache, "file:"+cfg.SigningKeyFile)
		mu.Unlock()
	}
	current, err := Load(ctx, cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{current}
	var text string
	if cfg.SigningKeySecret != "" {
		text, err = fromSecretStage(ctx, cfg.SigningKeySecret, "AWSPREVIOUS", awsCfg)
		var notFound *smtypes.ResourceNotFoundException
		if errors.As(err, &notFound) {
			return keys, nil // never rotated
		}
	} else {
		text, err = fromFile(cfg.SigningKeyFile)
		if lines := strings.SplitN(strings.TrimSpace(text), "\n", 2); err == nil {
			text = ""
			if len(lines) == 2 {
				text = lines[1]
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return keys, nil
	}
	prev, err := Parse(firstLine(text))
	if err != nil {
		return nil, fmt.Errorf("%w (the previous key)", err)
	}
	return append(keys, prev), nil
}

func fromSecret(ctx context.Context, arn string, awsCfg aws.Config) (string, error) {
	return fromSecretStage(ctx, arn, "", awsCfg)
}

// fromSecretStage reads the secret's version with staging label stage ("": AWSCURRENT).
func fromSecretStage(ctx context.Context, arn, stage string, awsCfg aws.Config) (string, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, in)
	if err != nil {
		return "", fmt.Errorf("signingkey: read secret %s: %w", arn, err)
	}
	switch {
	case out.SecretString != nil:
		return *out.SecretString, nil
	case len(out.SecretBinary) > 0:
		return string(out.SecretBinary), nil
	}
	return "", fmt.Errorf("signingkey: secret %s has no value", arn)
}

// fromFile reads path, creating it first with a new random hex key when it does not exist. The
// new key is written to a temporary file and linked into place, which fails when path exists: two
// processes starting together therefore agree on one key, and neither reads a half-written file.
func fromFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return string(b), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("signingkey: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("signingkey: %w", err)
	}
	raw := make([]byte, invitetoken.MinKeyBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("signingkey: %w", err)
	}
	text := hex.EncodeToString(raw) + "\n"
	tmp, err := os.CreateTemp(dir, ".signing-key-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("signingkey: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return "", fmt.Errorf("signingkey: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("signingkey: write %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process created it first: use its key
			return fromFile(path)
		}
		return "", fmt.Errorf("signingkey: %w", err)
	}
	return text, nil
}
