package stacktest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"rollcall/infra/stack"
	"rollcall/shared/routes"
	"rollcall/shared/table"
)

// xrayActions are what active tracing needs; X-Ray has no resource-level permissions, so they
// are the one grant on "*" every function has.
var xrayActions = []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}

// Each route's function may do exactly the DynamoDB actions its handler made while the handler
// tests ran (grants.json, which shared/handlers' tests compare with what they record), on the
// stage's table: actions made only inside transactions conditioned on
// dynamodb:EnclosingOperation, Query on GSI1 on the index; it may write to its own log group,
// send X-Ray traces, and read the signing key only when its route says so. Nothing else: an
// added action (dynamodb:Scan on any route, say) or a missing one fails.
func TestRouteFunctionsHaveExactlyTheirHandlersRights(t *testing.T) {
	s := synth(t, "dev")
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	secretID, _ := s.only(t, "AWS::SecretsManager::Secret")
	grants, err := stack.RouteGrants()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes.All {
		t.Run(r.Function, func(t *testing.T) {
			fnID, fn := s.function(t, r.Function)
			roleID := props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			logID := props(fn)["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
			got := s.statements(t, roleID)
			want := expectedStatements(grants[r.Function], tableID)
			want[canon(getAtt(logID, "Arn"))] = []string{"logs:CreateLogStream", "logs:PutLogEvents"}
			want[`"*"`] = xrayActions
			if r.Secret {
				want[canon(ref(secretID))] = []string{"secretsmanager:GetSecretValue"}
			}
			if diff := diffStatements(got, want); diff != "" {
				t.Errorf("function %s (%s): %s", r.Function, fnID, diff)
			}
		})
	}
}

// expectedStatements is what grants come to, keyed like statements.
func expectedStatements(grants []stack.Grant, tableID string) map[string][]string {
	tableArn := canon(getAtt(tableID, "Arn"))
	indexArn := canon(map[string]any{"Fn::Join": []any{"", []any{getAtt(tableID, "Arn"), "/index/" + table.GSI1}}})
	inTx := " if " + canon(map[string]any{"StringEquals": map[string]any{"dynamodb:EnclosingOperation": "TransactWriteItems"}})
	want := map[string][]string{}
	for _, g := range grants {
		key := tableArn
		switch {
		case g.Index != "":
			key = indexArn
		case g.TransactionOnly:
			key = tableArn + inTx
		}
		want[key] = sorted(append(want[key], g.Action))
	}
	return want
}

// diffStatements describes how got differs from want ("" when equal): actions granted beyond
// want (over-grants) and actions of want missing (under-grants), per resource and condition.
func diffStatements(got, want map[string][]string) string {
	var out []string
	for k, acts := range got {
		for _, a := range acts {
			if !slices.Contains(want[k], a) {
				out = append(out, "over-grant "+a+" on "+k)
			}
		}
	}
	for k, acts := range want {
		for _, a := range acts {
			if !slices.Contains(got[k], a) {
				out = append(out, "under-grant: missing "+a+" on "+k)
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

// The comparison catches an over-grant such as dynamodb:Scan added to a route, and an
// under-grant, wherever they are.
func TestGrantComparisonCatchesMutations(t *testing.T) {
	s := synth(t, "dev")
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	grants, err := stack.RouteGrants()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes.All {
		want := expectedStatements(grants[r.Function], tableID)
		scan := expectedStatements(append(slices.Clone(grants[r.Function]), stack.Grant{Action: "dynamodb:Scan"}), tableID)
		if d := diffStatements(scan, want); !strings.Contains(d, "over-grant dynamodb:Scan") {
			t.Errorf("%s: adding dynamodb:Scan is not reported (%q)", r.Function, d)
		}
		if len(grants[r.Function]) > 0 {
			fewer := expectedStatements(grants[r.Function][1:], tableID)
			if d := diffStatements(fewer, want); !strings.Contains(d, "under-grant") {
				t.Errorf("%s: removing %s is not reported", r.Function, grants[r.Function][0])
			}
		}
	}
}

// No policy of any stage names an action that IAM does not have (dynamodb:TransactWriteItems,
// say, which grants nothing), and no route function is granted a DynamoDB wildcard.
func TestNoInvalidIAMActions(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		s := synth(t, name)
		for id, p := range s.resources("AWS::IAM::Policy") {
			doc := props(p)["PolicyDocument"].(map[string]any)
			for _, st := range list(doc["Statement"]) {
				for _, a := range list(st.(map[string]any)["Action"]) {
					action := a.(string)
					if strings.HasPrefix(action, "dynamodb:") && !slices.Contains(stack.DynamoDBActions, action) {
						t.Errorf("%s: policy %s names %s, which is not a DynamoDB IAM action", name, id, action)
					}
				}
			}
		}
	}
}

// statements collects role roleID's Allow statements: actions keyed by resource (canonical JSON)
// followed by " if <condition>" when the statement has one.
func (s *synthesized) statements(t *testing.T, roleID string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range s.resources("AWS::IAM::Policy") {
		if !slices.ContainsFunc(list(props(p)["Roles"]), func(r any) bool { return canon(r) == canon(ref(roleID)) }) {
			continue
		}
		for _, st := range list(props(p)["PolicyDocument"].(map[string]any)["Statement"]) {
			stmt := st.(map[string]any)
			if stmt["Effect"] != "Allow" || stmt["NotAction"] != nil || stmt["NotResource"] != nil {
				t.Errorf("role %s: unexpected statement %s", roleID, canon(stmt))
				continue
			}
			for _, res := range list(stmt["Resource"]) {
				key := canon(res)
				if c, has := stmt["Condition"]; has {
					key += " if " + canon(c)
				}
				for _, a := range list(stmt["Action"]) {
					out[key] = sorted(append(out[key], a.(string)))
				}
			}
		}
	}
	return out
}

// The email function may read the table's stream, get, put and update items on the table, read
// the signing key, send email as the stage's sender through its identity and configuration
// set, and send failures to its dead-letter queue; nothing else.
func TestEmailFunctionRights(t *testing.T) {
	s := synth(t, "dev")
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	secretID, _ := s.only(t, "AWS::SecretsManager::Secret")
	queueID, _ := s.byPrefix(t, "AWS::SQS::Queue", "EmailDeadLetterQueue")
	identityID, _ := s.only(t, "AWS::SES::EmailIdentity")
	configSetID, _ := s.only(t, "AWS::SES::ConfigurationSet")
	_, fn := s.function(t, stack.EmailFunction)
	roleID := props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	logID := props(fn)["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
	got := s.grants(t, roleID)
	identityArn := resourceNaming(t, got, ":ses:", ":identity/", canon(ref(identityID)))
	configSetArn := resourceNaming(t, got, ":ses:", ":configuration-set/", canon(ref(configSetID)))

	want := map[string][]string{
		canon(getAtt(logID, "Arn")):         {"logs:CreateLogStream", "logs:PutLogEvents"},
		canon(getAtt(tableID, "Arn")):       sorted(stack.EmailActions),
		canon(getAtt(tableID, "StreamArn")): {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"},
		`"*"`:                               sorted(append([]string{"dynamodb:ListStreams"}, xrayActions...)), // no resource-level permissions exist for these
		canon(ref(secretID)):                {"secretsmanager:GetSecretValue"},
		canon(getAtt(queueID, "Arn")):       {"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"},
		identityArn:                         {"ses:SendEmail"},
		configSetArn:                        {"ses:SendEmail"},
	}
	if !reflect.DeepEqual(actionsByResource(got), want) {
		t.Errorf("email function may do\n  %v\nwant\n  %v", actionsByResource(got), want)
	}
	from := canon(map[string]any{"StringEquals": map[string]any{"ses:FromAddress": s.stage.SenderEmail}})
	for _, res := range []string{identityArn, configSetArn} {
		if g := got[res]; g == nil || !reflect.DeepEqual(g.conditions, []string{from}) {
			t.Errorf("ses:SendEmail on %s is not limited to From %s", res, s.stage.SenderEmail)
		}
	}
}

// The signing key is generated by Secrets Manager, granted only to the functions that sign or
// check tokens, and its resource policy denies reading it to every other principal.
func TestSigningKeyReadableOnlyByItsFunctions(t *testing.T) {
	s := synth(t, "dev")
	secretID, secret := s.only(t, "AWS::SecretsManager::Secret")
	gen, _ := props(secret)["GenerateSecretString"].(map[string]any)
	if gen["PasswordLength"] != float64(64) || gen["ExcludePunctuation"] != true {
		t.Errorf("signing key generation %s, want 64 letters and digits", canon(gen))
	}

	var readers []string // roles that must read it
	for _, r := range routes.All {
		if r.Secret {
			readers = append(readers, r.Function)
		}
	}
	readers = append(readers, stack.EmailFunction)
	var wantRoles []string
	for _, name := range stack.Functions() {
		_, fn := s.function(t, name)
		roleID := props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		g := s.grants(t, roleID)[canon(ref(secretID))]
		reads := g != nil && slices.Contains(g.actions, "secretsmanager:GetSecretValue")
		if reads != slices.Contains(readers, name) {
			t.Errorf("function %s reads the signing key: %v, want %v", name, reads, !reads)
		}
		if reads {
			wantRoles = append(wantRoles, canon(getAtt(roleID, "Arn")))
		}
	}
	// No other IAM policy of the stack names the secret.
	for id, p := range s.resources("AWS::IAM::Policy") {
		if strings.Contains(canon(props(p)), canon(ref(secretID))) {
			attached := canon(props(p)["Roles"])
			found := false
			for _, name := range readers {
				_, fn := s.function(t, name)
				roleID := props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
				found = found || attached == canon([]any{ref(roleID)})
			}
			if !found {
				t.Errorf("policy %s grants the signing key to %s", id, attached)
			}
		}
	}

	_, policy := s.only(t, "AWS::SecretsManager::ResourcePolicy")
	doc := props(policy)["ResourcePolicy"].(map[string]any)
	stmts := list(doc["Statement"])
	if len(stmts) != 1 {
		t.Fatalf("signing key resource policy has %d statements, want 1: %s", len(stmts), canon(doc))
	}
	deny := stmts[0].(map[string]any)
	var cond struct {
		ArnNotEquals struct {
			PrincipalArn json.RawMessage `json:"aws:PrincipalArn"`
		}
	}
	_ = json.Unmarshal([]byte(canon(deny["Condition"])), &cond)
	var gotRoles []string
	var arns []any
	_ = json.Unmarshal(cond.ArnNotEquals.PrincipalArn, &arns)
	for _, a := range arns {
		gotRoles = append(gotRoles, canon(a))
	}
	slices.Sort(gotRoles)
	slices.Sort(wantRoles)
	if deny["Effect"] != "Deny" || canon(deny["Principal"]) != `{"AWS":"*"}` || deny["Action"] != "secretsmanager:GetSecretValue" ||
		!reflect.DeepEqual(gotRoles, wantRoles) {
		t.Errorf("signing key resource policy %s does not deny everyone but %v", canon(deny), wantRoles)
	}
}

// actionsByResource flattens grants to their actions.
func actionsByResource(g map[string]*grant) map[string][]string {
	out := make(map[string][]string, len(g))
	for res, gr := range g {
		out[res] = gr.actions
	}
	return out
}

// resourceNaming returns the one granted resource whose canonical JSON contains every part,
// failing the test unless there is exactly one.
func resourceNaming(t *testing.T, got map[string]*grant, parts ...string) string {
	t.Helper()
	var found []string
	for res := range got {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(res, p)
		}
		if all {
			found = append(found, res)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d granted resources name %v, want 1", len(found), parts)
	}
	return found[0]
}
