package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// SESPort is the SES v2 emulator's port in the local stack (DESIGN §6).
const SESPort = 8005

// SESCLI is the emulator's entry point under a node folder (NodeDir).
var SESCLI = filepath.Join("node_modules", "aws-ses-v2-local", "dist", "cli.js")

// SESOptions says how to start the SES v2 emulator.
type SESOptions struct {
	Root   string        // repository root; "" means RepoRoot()
	Port   int           // port on 127.0.0.1; 0 means any free port
	Output io.Writer     // where its own output goes; nil discards it
	Ready  time.Duration // how long to wait until it is healthy; 0 means 20 s
}

// SES is a running SES v2 emulator (the npm package aws-ses-v2-local) started by StartSES. It
// accepts SendEmail like SES v2 (with SigV4-signed requests), keeps what it receives in memory,
// and shows it in a web inbox at its endpoint.
type SES struct {
	Endpoint string // http://127.0.0.1:<port>: the SES v2 endpoint and the web inbox
	Port     int

	process // Done, Err and Stop
}

// StartSES starts the SES v2 emulator with node, listening on 127.0.0.1, and waits until GET
// /health-check answers from it (or ctx ends, or opts.Ready passes). It returns a *PortTakenError
// when the port is taken; with opts.Port 0 it picks a free port, and another should the port be
// taken meanwhile. It returns an error telling what to install when node or the
// npm package is missing ("run npm ci"), and the end of the emulator's output when it exits before
// it is ready. The caller must call Stop.
func StartSES(ctx context.Context, opts SESOptions) (*SES, error) {
	root, err := rootOr(opts.Root)
	if err != nil {
		return nil, err
	}
	nodeDir := NodeDir(root)
	cli := filepath.Join(nodeDir, SESCLI)
	if _, err := os.Stat(cli); err != nil {
		return nil, fmt.Errorf("the SES v2 emulator is not installed (%s is missing): run `npm ci` in %s (it installs the npm package aws-ses-v2-local)", cli, nodeDir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH: the SES v2 emulator needs Node 20+")
	}
	ready := opts.Ready
	if ready == 0 {
		ready = 20 * time.Second
	}
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = FreePort(0); err != nil {
				return nil, err
			}
		}
		s, err := startSES(ctx, opts, node, nodeDir, cli, port, ready)
		var taken *PortTakenError
		if opts.Port == 0 && attempt < 3 && errors.As(err, &taken) {
			continue // someone took the free port first: pick another
		}
		return s, err
	}
}

func startSES(ctx context.Context, opts SESOptions, node, nodeDir, cli string, port int, ready time.Duration) (*SES, error) {
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Dir = nodeDir
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	s := &SES{Endpoint: endpoint, Port: port}
	if err := s.start(ctx, processSpec{Name: "the SES v2 emulator", Cmd: cmd, Output: opts.Output,
		Port: port, ReadyURL: endpoint + "/health-check", Ready: ready}); err != nil {
		return nil, err
	}
	return s, nil
}

// SESClient returns an SES v2 client of the emulator at endpoint, with the local region and
// credentials (the emulator needs signed requests but checks no key).
func SESClient(endpoint string) *sesv2.Client {
	return sesv2.New(sesv2.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

// SESEmail is one email the emulator received, as GET /store lists it.
type SESEmail struct {
	MessageID   string   `json:"messageId"`
	From        string   `json:"from"`
	ReplyTo     []string `json:"replyTo"`
	Destination struct {
		To  []string `json:"to"`
		Cc  []string `json:"cc"`
		Bcc []string `json:"bcc"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		HTML string `json:"html"`
		Text string `json:"text"`
	} `json:"body"`
	At int64 `json:"at"` // epoch seconds
}

// SESInbox returns every email the emulator at endpoint holds (GET /store). It returns the HTTP
// or decoding error.
func SESInbox(ctx context.Context, endpoint string) ([]SESEmail, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/store", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("SES emulator store: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("SES emulator store: %s", resp.Status)
	}
	var store struct {
		Emails []SESEmail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("SES emulator store: %w", err)
	}
	return store.Emails, nil
}

// ClearSESInbox empties the emulator's store (POST /clear-store). It returns the HTTP error.
func ClearSESInbox(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/clear-store", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("SES emulator clear: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("SES emulator clear: %s", resp.Status)
	}
	return nil
}
