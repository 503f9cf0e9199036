package contract_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"rollcall/shared/contract"
	"rollcall/shared/routes"
)

// TestEveryRouteDeclared checks that every route has exactly one declaration and every
// declaration a route.
func TestEveryRouteDeclared(t *testing.T) {
	if err := contract.Check(); err != nil {
		t.Fatal(err)
	}
	if got, want := len(contract.All()), len(routes.All); got != want {
		t.Fatalf("%d declarations for %d routes", got, want)
	}
}

// TestEveryProblemCodeDescribed checks that ProblemCodes describes exactly the codes shared/apperr
// defines (read from its source text: Go cannot list a package's constants), and that every
// code a declaration names is one of them.
func TestEveryProblemCodeDescribed(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "apperr", "apperr.go"))
	if err != nil {
		t.Fatal(err)
	}
	var defined []string
	for _, m := range regexp.MustCompile(`(?m)^\s*Code\w+\s*=\s*"([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		defined = append(defined, m[1])
	}
	described := map[string]bool{}
	for _, d := range contract.ProblemCodes {
		described[d.Code] = true
		if !slices.Contains(defined, d.Code) {
			t.Errorf("ProblemCodes describes %q, which shared/apperr does not define", d.Code)
		}
	}
	for _, c := range defined {
		if !described[c] {
			t.Errorf("shared/apperr defines %q, which ProblemCodes does not describe", c)
		}
	}
	for _, d := range contract.All() {
		for _, p := range d.Problems() {
			for _, c := range p.Codes {
				if !described[c] {
					t.Errorf("%s declares code %q, which ProblemCodes does not describe", d.Function, c)
				}
			}
		}
	}
}
