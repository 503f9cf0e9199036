// Command mutate is rollcall's mutation harness (issue 14, `make mutate`): it removes each
// security or rule enforcement in turn — a named mutation of one source line, listed in
// mutations.go — runs the tests that should notice, and reports the mutations that survive (every
// test still green). It works on a copy of the module, so the working tree is never changed.
//
// Usage: go run ./infra/cmd/mutate [-only name,name] [-list]. DynamoDB Local must be at
// $ROLLCALL_TEST_DYNAMODB (make mutate starts one). Exit status 1 when a mutation survives or
// no longer applies (its line changed: update mutations.go).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	only := flag.String("only", "", "comma-separated mutation names to run (default: all)")
	list := flag.Bool("list", false, "list the mutations and exit")
	full := flag.Bool("full", false, "run each mutation's packages whole, ignoring its Run filter")
	flag.Parse()
	if *list {
		for _, m := range mutations {
			fmt.Printf("%-28s %-6s %s\n", m.Name, m.Rule, m.File)
		}
		return
	}
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	work, err := os.MkdirTemp("", "rollcall-mutate-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(work)
	if err := copyModule(root, work); err != nil {
		fail(err)
	}
	var survivors, broken []string
	ran := 0
	for _, m := range mutations {
		if *only != "" && !strings.Contains(","+*only+",", ","+m.Name+",") {
			continue
		}
		ran++
		path := filepath.Join(work, m.File)
		orig, err := os.ReadFile(path)
		if err != nil {
			fail(err)
		}
		if n := bytes.Count(orig, []byte(m.Old)); n != 1 {
			fmt.Printf("%-28s BROKEN   the line to mutate occurs %d times in %s\n", m.Name, n, m.File)
			broken = append(broken, m.Name)
			continue
		}
		if err := os.WriteFile(path, bytes.Replace(orig, []byte(m.Old), []byte(m.New), 1), 0o644); err != nil {
			fail(err)
		}
		start := time.Now()
		args := append([]string{"test", "-count=1", "-failfast"}, m.Pkgs...)
		if m.Run != "" && !*full {
			args = append(args, "-run", m.Run)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if werr := os.WriteFile(path, orig, 0o644); werr != nil {
			fail(werr)
		}
		took := time.Since(start).Round(time.Second)
		switch {
		case err == nil:
			fmt.Printf("%-28s SURVIVED %s (%s): no test noticed (%s)\n", m.Name, m.Rule, m.What, took)
			survivors = append(survivors, m.Name)
		case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
			fmt.Printf("%-28s BROKEN   the mutant does not build:\n%s\n", m.Name, tail(out))
			broken = append(broken, m.Name)
		default:
			fmt.Printf("%-28s killed   %s by %s (%s)\n", m.Name, m.Rule, firstFailure(out), took)
		}
	}
	fmt.Printf("mutate: %d mutations, %d killed, %d survived %v, %d broken %v\n", ran, ran-len(survivors)-len(broken), len(survivors), survivors, len(broken), broken)
	if len(survivors)+len(broken) > 0 {
		os.Exit(1)
	}
}

// copyModule copies the module's Go sources, data and docs to dst (no .git, node_modules or
// build output).
func copyModule(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", ".local", "cdk.out", "dist":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
}

func firstFailure(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "--- FAIL: ") {
			return strings.Fields(strings.TrimSpace(l))[2]
		}
	}
	return "a failing test"
}

func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mutate:", err)
	os.Exit(2)
}
