package stack

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"rollcall/shared/routes"
	"rollcall/shared/table"
)

// grantsJSON holds each route function's DynamoDB rights: exactly the actions its handler made
// while the handler tests ran (shared/handlers/grants_test.go records them, compares them with
// this file and rewrites it with ROLLCALL_UPDATE_GRANTS=1). The route table does not decide
// them.
//
//go:embed grants.json
var grantsJSON []byte

// Grant is one DynamoDB right of a route function.
type Grant struct {
	Action          string // IAM action, e.g. "dynamodb:PutItem"
	Index           string // the index it applies to ("" for the table)
	TransactionOnly bool   // made only inside TransactWriteItems: conditioned on dynamodb:EnclosingOperation
}

// String is the grant as grants.json writes it.
func (g Grant) String() string {
	switch {
	case g.Index != "":
		return g.Action + " on index " + g.Index
	case g.TransactionOnly:
		return g.Action + " in TransactWriteItems"
	}
	return g.Action
}

// DynamoDBActions are the IAM actions of DynamoDB's data plane that a grant may name. There is
// no IAM action for TransactWriteItems or TransactGetItems: a transaction needs the item-level
// actions it carries.
var DynamoDBActions = []string{
	"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem",
	"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
}

// parseGrant reads one grant of grants.json.
func parseGrant(s string) (Grant, error) {
	g := Grant{Action: s}
	if a, idx, ok := strings.Cut(s, " on index "); ok {
		g.Action, g.Index = a, idx
		if idx != table.GSI1 {
			return g, fmt.Errorf("grant %q: the table has no index %q", s, idx)
		}
	} else if a, ok := strings.CutSuffix(s, " in TransactWriteItems"); ok {
		g.Action, g.TransactionOnly = a, true
		if !slices.Contains([]string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}, a) {
			return g, fmt.Errorf("grant %q: %s is not an action a transaction carries", s, a)
		}
	}
	if !slices.Contains(DynamoDBActions, g.Action) {
		return g, fmt.Errorf("grant %q: %s is not a DynamoDB IAM action", s, g.Action)
	}
	return g, nil
}

// RouteGrants returns each route function's DynamoDB rights from grants.json. It returns an
// error when a route function has no entry, an entry names no route function, or a grant is
// not a valid DynamoDB IAM action.
func RouteGrants() (map[string][]Grant, error) {
	var raw map[string][]string
	if err := json.Unmarshal(grantsJSON, &raw); err != nil {
		return nil, fmt.Errorf("infra/stack/grants.json: %w", err)
	}
	out := map[string][]Grant{}
	for _, r := range routes.All {
		list, ok := raw[r.Function]
		if !ok {
			return nil, fmt.Errorf("infra/stack/grants.json has no entry for %s: run ROLLCALL_UPDATE_GRANTS=1 make test PKGS=./shared/handlers", r.Function)
		}
		gs := []Grant{}
		for _, s := range list {
			g, err := parseGrant(s)
			if err != nil {
				return nil, fmt.Errorf("infra/stack/grants.json, %s: %w", r.Function, err)
			}
			gs = append(gs, g)
		}
		out[r.Function] = gs
	}
	for fn := range raw {
		if _, ok := out[fn]; !ok {
			return nil, fmt.Errorf("infra/stack/grants.json lists %s, which is not a route's function", fn)
		}
	}
	return out, nil
}

// grantRoute gives role exactly grants on the stage's table: plain actions on the table, index
// actions on the index, and transaction-only actions on the table when the enclosing operation
// is TransactWriteItems.
func (b *builder) grantRoute(role awsiam.Role, grants []Grant) {
	var plain, tx, index []string
	for _, g := range grants {
		switch {
		case g.Index != "":
			index = append(index, g.Action)
		case g.TransactionOnly:
			tx = append(tx, g.Action)
		default:
			plain = append(plain, g.Action)
		}
	}
	if len(plain) > 0 {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(plain...),
			Resources: &[]*string{b.tbl.TableArn()},
		}))
	}
	if len(tx) > 0 {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:    jsii.Strings(tx...),
			Resources:  &[]*string{b.tbl.TableArn()},
			Conditions: &map[string]any{"StringEquals": map[string]any{"dynamodb:EnclosingOperation": "TransactWriteItems"}},
		}))
	}
	if len(index) > 0 {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(index...),
			Resources: &[]*string{IndexArn(b.tbl)},
		}))
	}
}
