// Package apicheck validates API answers against the committed OpenAPI document
// (docs/openapi.json) with kin-openapi's openapi3filter: the status must be one the operation
// declares, declared headers must hold, and the body must match the declared schema, where every
// object schema with properties is read as closed (an undeclared field fails). A problem's code
// (and a batch row's) must be one the operation's declaration (shared/contract) lists for that
// status.
//
// The handler tests and the end-to-end tests pass every answer through it; their TestMain calls
// Main, which reports how many answers were validated (to stderr, and appended to the file
// named by $ROLLCALL_APICHECK_LOG, which make test sums up).
package apicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"rollcall/shared/apperr"
	"rollcall/shared/contract"
	"rollcall/shared/routes"
)

// Counts of this test process.
var validated, failed atomic.Int64

var (
	loadOnce sync.Once
	doc      *openapi3.T
	loadErr  error
)

// Doc returns docs/openapi.json of the module, loaded once, with its object schemas closed.
func Doc() (*openapi3.T, error) {
	loadOnce.Do(func() {
		var root string
		if root, loadErr = moduleRoot(); loadErr != nil {
			return
		}
		l := openapi3.NewLoader()
		if doc, loadErr = l.LoadFromFile(filepath.Join(root, "docs", "openapi.json")); loadErr != nil {
			return
		}
		seen := map[*openapi3.Schema]bool{}
		for _, s := range doc.Components.Schemas {
			closeObjects(s, seen)
		}
		for _, p := range doc.Paths.Map() {
			for _, op := range p.Operations() {
				for _, r := range op.Responses.Map() {
					for _, mt := range r.Value.Content {
						closeObjects(mt.Schema, seen)
					}
				}
			}
		}
	})
	return doc, loadErr
}

// closeObjects makes every object schema with properties under ref refuse other members.
func closeObjects(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
		no := false
		s.AdditionalProperties.Has = &no
	}
	for _, p := range s.Properties {
		closeObjects(p, seen)
	}
	closeObjects(s.Items, seen)
	closeObjects(s.AdditionalProperties.Schema, seen)
	for _, l := range [][]*openapi3.SchemaRef{s.AnyOf, s.OneOf, s.AllOf} {
		for _, x := range l {
			closeObjects(x, seen)
		}
	}
}

// moduleRoot is the nearest directory at or above the working directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("apicheck: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Validate checks one answer of function (the route table's Function) against the document and
// the function's declaration; it returns what is wrong, or nil.
func Validate(function string, status int, headers map[string]string, body []byte) error {
	d, ok := contract.ByFunction(function)
	if !ok {
		return fmt.Errorf("apicheck: no declared route for function %q", function)
	}
	spec, err := Doc()
	if err != nil {
		return err
	}
	item := spec.Paths.Find(d.Path)
	if item == nil || item.GetOperation(d.Method) == nil {
		return fmt.Errorf("%s: not in docs/openapi.json", d.Key())
	}
	op := item.GetOperation(d.Method)
	req, _ := http.NewRequest(d.Method, "http://api.invalid"+d.Path, nil)
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: spec, Path: d.Path, PathItem: item, Method: d.Method, Operation: op},
		},
		Status:  status,
		Header:  h,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s answered %d, which docs/openapi.json refuses: %w", d.Key(), status, err)
	}
	if r := op.Responses.Status(status); r != nil && len(r.Value.Content) == 0 && len(bytes.TrimSpace(body)) > 0 {
		return fmt.Errorf("%s answered %d with a body, which docs/openapi.json declares without one", d.Key(), status)
	}
	return checkCodes(d, status, body)
}

// checkCodes checks the problem code of an error answer, and of each failed batch row, against
// the codes d declares for that status.
func checkCodes(d contract.Declared, status int, body []byte) error {
	if status >= 400 {
		var p struct {
			Code string `json:"code"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return fmt.Errorf("%s: problem body: %w", d.Key(), err)
		}
		for _, pa := range d.Problems() {
			if pa.Status == status && slices.Contains(pa.Codes, p.Code) {
				return nil
			}
		}
		return fmt.Errorf("%s answered %d %q, which its declaration (shared/contract) does not list", d.Key(), status, p.Code)
	}
	if len(d.RowErrors) == 0 {
		return nil
	}
	var batch struct {
		Results []struct {
			Status int `json:"status"`
			Error  *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		return fmt.Errorf("%s: batch body: %w", d.Key(), err)
	}
	for i, r := range batch.Results {
		if r.Error == nil {
			continue
		}
		ok := r.Status == http.StatusInternalServerError && r.Error.Code == apperr.CodeInternal // a row's fault
		for _, re := range d.RowErrors {
			ok = ok || re.Status == r.Status && slices.Contains(re.Codes, r.Error.Code)
		}
		if !ok {
			return fmt.Errorf("%s: row %d failed with %d %q, which its declaration's RowErrors do not list", d.Key(), i, r.Status, r.Error.Code)
		}
	}
	return nil
}

// Response validates one answer of function and fails t when it does not conform.
func Response(t testing.TB, function string, status int, headers map[string]string, body []byte) {
	t.Helper()
	validated.Add(1)
	if err := Validate(function, status, headers, body); err != nil {
		failed.Add(1)
		t.Errorf("response validation: %v\nbody: %s", err, body)
	}
}

// HTTP validates an answer to method and path (a concrete path, such as the local gateway
// serves) when a route serves it; answers the gateway gives itself (an unknown path or method)
// are not an operation's and are skipped.
func HTTP(t testing.TB, method, path string, status int, headers http.Header, body []byte) {
	t.Helper()
	path, _, _ = strings.Cut(path, "?")
	r, _, ok, _ := routes.Match(method, path)
	if !ok {
		return
	}
	h := map[string]string{}
	for k := range headers {
		h[k] = headers.Get(k)
	}
	Response(t, r.Function, status, h, body)
}

// Counts returns how many answers this process validated and how many failed.
func Counts() (validatedN, failedN int64) { return validated.Load(), failed.Load() }

// Main runs the tests of a package (m.Run), then reports the answers validated: to stderr, and
// as a line "<validated> <failed> <package>" appended to $ROLLCALL_APICHECK_LOG when set. A
// package's TestMain calls it.
func Main(m interface{ Run() int }, pkg string) {
	code := m.Run()
	v, f := Counts()
	fmt.Fprintf(os.Stderr, "apicheck: %s: %d responses validated against docs/openapi.json, %d failed\n", pkg, v, f)
	if path := os.Getenv("ROLLCALL_APICHECK_LOG"); path != "" {
		if out, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(out, "%d %d %s\n", v, f, pkg)
			out.Close()
		}
	}
	os.Exit(code)
}
