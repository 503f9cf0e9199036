// Command apidoc writes rollcall's API documentation, docs/openapi.json (OpenAPI 3.1) and
// docs/api.md, from the route table (routes.All) and the Go types the operations take and
// answer, so that the documents cannot drift from the code. Run it from anywhere in the module:
//
//	go run ./infra/cmd/apidoc            # writes docs/ of the module
//	go run ./infra/cmd/apidoc -out DIR   # writes DIR/openapi.json and DIR/api.md
//
// Paths, methods, operation ids and who may call come from the route table; schemas are derived
// by reflection from the Go types' JSON tags (time.Time is a date-time string, domain.Optional[T]
// is T or null, omitempty fields are optional in answers) and their doc comments. The table ops
// (operations.go) maps each route's function to its request and answer types, statuses and
// errors: a route without an entry stops the generator. The test in this package fails when the
// committed documents differ from what the generator writes.
package main

//go:generate go run .

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"rollcall/infra/local"
	"rollcall/shared/routes"
)

// Output file names, under the output directory.
const (
	openAPIFile  = "openapi.json"
	markdownFile = "api.md"
)

// main writes the documents to -out (default: the module's docs/).
func main() {
	out := flag.String("out", "", "directory to write "+openAPIFile+" and "+markdownFile+" to (default: the module's docs/)")
	flag.Parse()
	root, err := local.RepoRoot()
	if err != nil {
		fail(err)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join(root, "docs")
	}
	if err := write(root, dir, routes.All); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "apidoc: wrote %s and %s (%d routes)\n",
		filepath.Join(dir, openAPIFile), filepath.Join(dir, markdownFile), len(routes.All))
}

// fail reports err and exits non-zero.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "apidoc:", err)
	os.Exit(1)
}

// generate returns the OpenAPI document and api.md for route table table; root is the module's
// directory, whose sources give the doc comments and the problem codes.
func generate(root string, table []routes.Route) (openAPI, markdown []byte, err error) {
	a, b, err := load(root, table)
	if err != nil {
		return nil, nil, err
	}
	openAPI, err = a.openAPI(b)
	if err != nil {
		return nil, nil, err
	}
	markdown = []byte(a.markdown(b))
	if len(b.errs) > 0 {
		return nil, nil, errors.Join(b.errs...)
	}
	return openAPI, markdown, nil
}

// write generates the documents and writes them to dir.
func write(root, dir string, table []routes.Route) error {
	openAPI, markdown, err := generate(root, table)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, openAPIFile), openAPI, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, markdownFile), markdown, 0o644)
}
