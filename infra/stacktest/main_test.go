package stacktest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"rollcall/infra/stack"
)

// external is the name under which the tests synthesise the dev stage with an external JWT
// issuer instead of a Cognito user pool.
const external = "dev-external-issuer"

var (
	assetDir string                 // a dummy bootstrap for every function
	outDir   string                 // the cloud assemblies the tests synthesise
	stages   map[string]stack.Stage // the repository's cdk.json
	cache    = map[string]*synthesized{}
)

func TestMain(m *testing.M) {
	// jsii's Node 20 end-of-life banner, on every run, says nothing about the stack (the project
	// pins Node 20: see TOOLING.md). The jsii client was created, with its child's environment,
	// while the awscdk packages initialised; closing it (its process has not started yet) makes
	// the first construct start one that sees the variable.
	if os.Getenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION") == "" {
		os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
		jsii.Close()
	}
	code := setUp(m)
	// jsii-runtime-go v1.139.0 may print a spurious "Runtime process exited abnormally" while
	// closing (see infra/cdk); the tests have reported by now.
	if devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stderr = devNull
	}
	jsii.Close()
	os.Exit(code)
}

func setUp(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rollcall-assets-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, name := range stack.Functions() {
		if err := os.MkdirAll(filepath.Join(dir, "build", name), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := os.WriteFile(filepath.Join(dir, "build", name, "bootstrap"), []byte("not a real binary\n"), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	assetDir = filepath.Join(dir, "build")
	outDir = filepath.Join(dir, "cdk.out")
	stages, err = stack.LoadStages(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdk.json:", err)
		return 1
	}
	return m.Run()
}

// synthesized is one stage's stack and its template.
type synthesized struct {
	stage    stack.Stage
	stack    *stack.Stack
	template assertions.Template
	tmpl     map[string]any // the template as JSON
}

// synth returns stage name's synthesised stack (once per test binary); external is dev with an
// external issuer.
func synth(t *testing.T, name string) *synthesized {
	t.Helper()
	if s, ok := cache[name]; ok {
		return s
	}
	st, ok := stages[name]
	if name == external {
		st, ok = stages["dev"]
		st.Auth = stack.Auth{Issuer: "https://login.example.com/", Audience: []string{"rollcall-api"}}
	}
	if !ok {
		t.Fatalf("cdk.json has no stage %q", name)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(outDir, name))})
	out, err := stack.New(app, st, stack.Props{AssetDir: assetDir})
	if err != nil {
		t.Fatalf("stack.New(%s): %v", name, err)
	}
	tpl := assertions.Template_FromStack(out.Stack, nil)
	s := &synthesized{stage: st, stack: out, template: tpl, tmpl: *tpl.ToJSON()}
	cache[name] = s
	return s
}

// resources returns the template's resources of type typ, by logical id.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	found := map[string]map[string]any{}
	for id, r := range s.tmpl["Resources"].(map[string]any) {
		if res := r.(map[string]any); res["Type"] == typ {
			found[id] = res
		}
	}
	return found
}

// only returns the one resource of type typ, failing the test unless there is exactly one.
func (s *synthesized) only(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	rs := s.resources(typ)
	if len(rs) != 1 {
		t.Fatalf("%s: %d resources of type %s, want 1", s.stage.Name, len(rs), typ)
	}
	for id, r := range rs {
		return id, r
	}
	panic("unreachable")
}

// function returns the logical id and resource of the Lambda function called name.
func (s *synthesized) function(t *testing.T, name string) (string, map[string]any) {
	t.Helper()
	want := "rollcall-" + s.stage.Name + "-" + name
	for id, r := range s.resources("AWS::Lambda::Function") {
		if props(r)["FunctionName"] == want {
			return id, r
		}
	}
	t.Fatalf("%s: no Lambda function named %s", s.stage.Name, want)
	return "", nil
}

// alias returns the logical id of the LiveAlias of the function with logical id fnID, failing
// the test unless there is exactly one, pointing at a version of that function.
func (s *synthesized) alias(t *testing.T, fnID string) string {
	t.Helper()
	var found []string
	for id, a := range s.resources("AWS::Lambda::Alias") {
		p := props(a)
		if canon(p["FunctionName"]) == canon(ref(fnID)) && p["Name"] == stack.LiveAlias {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: function %s has %d %s aliases, want 1", s.stage.Name, fnID, len(found), stack.LiveAlias)
	}
	return found[0]
}

// grant is what an IAM policy allows on one resource.
type grant struct {
	actions    []string
	conditions []string // canonical JSON of each statement's condition, if any
}

// grants collects every Allow statement of the policies attached to role roleID, by resource
// (canonical JSON); it fails the test on a Deny, a NotAction or NotResource, a managed policy or
// an inline role policy, none of which the stack uses.
func (s *synthesized) grants(t *testing.T, roleID string) map[string]*grant {
	t.Helper()
	role := s.tmpl["Resources"].(map[string]any)[roleID].(map[string]any)
	for _, field := range []string{"ManagedPolicyArns", "Policies", "PermissionsBoundary"} {
		if _, has := props(role)[field]; has {
			t.Errorf("role %s has %s; every right must come from its own policy", roleID, field)
		}
	}
	out := map[string]*grant{}
	for id, p := range s.resources("AWS::IAM::Policy") {
		if !slices.ContainsFunc(list(props(p)["Roles"]), func(r any) bool { return canon(r) == canon(ref(roleID)) }) {
			continue
		}
		doc := props(p)["PolicyDocument"].(map[string]any)
		for _, st := range list(doc["Statement"]) {
			stmt := st.(map[string]any)
			if stmt["Effect"] != "Allow" || stmt["NotAction"] != nil || stmt["NotResource"] != nil {
				t.Errorf("policy %s: unexpected statement %s", id, canon(stmt))
				continue
			}
			for _, res := range list(stmt["Resource"]) {
				g := out[canon(res)]
				if g == nil {
					g = &grant{}
					out[canon(res)] = g
				}
				for _, a := range list(stmt["Action"]) {
					if !slices.Contains(g.actions, a.(string)) {
						g.actions = append(g.actions, a.(string))
					}
				}
				if c, has := stmt["Condition"]; has {
					g.conditions = append(g.conditions, canon(c))
				}
			}
		}
	}
	for _, g := range out {
		slices.Sort(g.actions)
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// list returns v as a list: itself when it is one, else a list of v (IAM's one-or-many).
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func ref(id string) map[string]any { return map[string]any{"Ref": id} }

func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

// canon is v's canonical JSON (Go sorts map keys), to compare template values.
func canon(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// sorted returns a sorted copy of actions.
func sorted(actions []string) []string {
	c := slices.Clone(actions)
	slices.Sort(c)
	return slices.Compact(c)
}
