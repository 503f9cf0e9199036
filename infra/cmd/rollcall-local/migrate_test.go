package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"rollcall/shared/config"
	"rollcall/shared/store"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

// TestDevMigratesAKeptTable starts the stack on a table kept from a run of the code before
// 680c796 (an account with its recipient counts on the account item and a contact without index
// items, written here as that code wrote them): the migration runs before the API serves, so
// ?q= and ?emailType= find the contact at once, and the table records its layout.
func TestDevMigratesAKeptTable(t *testing.T) {
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.name
	}
	if tbl, mig, api := slices.Index(names, "table"), slices.Index(names, "migration"), slices.Index(names, "API gateway"); !(tbl >= 0 && tbl < mig && mig < api) {
		t.Fatalf("services %v: the migration must run after the table is there and before the API serves", names)
	}
	testenv.DB(t) // fails with instructions when DynamoDB Local is not running
	tableName := "dev_migrate_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	env := map[string]string{config.EnvTableName: tableName}
	s, err := newStack(t.TempDir(), devOptions{addr: "127.0.0.1:0", dynURL: testenv.Endpoint(), sesPort: freePort(t)},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	at := func(name string) []service { return services[slices.Index(names, name) : slices.Index(names, name)+1] }
	stopTable, err := s.startServices(t.Context(), append(at("DynamoDB Local"), at("table")...))
	t.Cleanup(func() {
		stopTable()
		_, _ = s.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(tableName)})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The kept data.
	const acc, con = "acc_01jdv0000000000000000000a1", "con_01jdv0000000000000000000c1"
	created := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339Nano)
	for _, it := range []map[string]any{
		{"PK": table.AccountPK(acc), "SK": table.AccountSK, "GSI1PK": table.AccountsGSI1PK, "GSI1SK": table.AccountsGSI1SK("Kept Co", acc),
			"entity": "account", "mainSiteId": "sit_01jdv0000000000000000000s1", "id": acc, "name": "Kept Co", "type": "customer",
			"owner":           map[string]any{"firstName": "O", "lastName": "Wner", "email": "owner@kept.example"},
			"ownerEmailTypes": []string{"billing", "service", "security", "marketing"}, "createdAt": created, "updatedAt": created, "version": 1,
			"recipients": map[string]int{"billing": 2, "service": 1, "security": 1, "marketing": 1}},
		{"PK": table.AccountPK(acc), "SK": table.Contact(acc, con).SK, "entity": "contact", "id": con, "accountId": acc,
			"email": "grace@kept.example", "firstName": "Grace", "lastName": "Hopper", "emailTypes": []string{"billing"},
			"createdAt": created, "updatedAt": created, "version": 1, "search": "grace@kept.example grace hopper", "adminRoles": 0},
	} {
		m, err := attributevalue.MarshalMap(it)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(tableName), Item: m}); err != nil {
			t.Fatal(err)
		}
	}
	stopAPI, err := s.startServices(t.Context(), append(at("migration"), at("API gateway")...))
	t.Cleanup(stopAPI)
	if err != nil {
		t.Fatal(err)
	}
	if banner := strings.Join(s.endpoint, "\n"); !strings.Contains(banner, "table layout 1 -> 2: 1 accounts, 1 counters moved, 0 memberships, 1 contacts indexed") {
		t.Errorf("banner %q does not report the migration", banner)
	}
	op, err := s.signer.Mint("op", "op@example.com", true, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"q=hop", "emailType=billing"} {
		code, body := call(t, s, "GET", "/accounts/"+acc+"/contacts?"+q, op, "")
		if code != 200 || !strings.Contains(body, "grace@kept.example") {
			t.Errorf("?%s after the start: %d %s", q, code, body)
		}
	}
	// The next start reads the schema item and does nothing else.
	rep, err := store.New(s.db, tableName, s.cfg.Catalog, time.Now).Migrate(t.Context(), nil)
	if err != nil || !rep.Current {
		t.Errorf("a second migration: %+v, %v; want Current", rep, err)
	}
}
