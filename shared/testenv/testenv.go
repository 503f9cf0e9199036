// Package testenv gives tests a real DynamoDB: DynamoDB Local at ROLLCALL_TEST_DYNAMODB
// (default http://127.0.0.1:8000), with a fresh table per test created from the shared table
// definition. `make test` starts DynamoDB Local; when it is not running, tests fail and say how
// to start it. They never skip.
package testenv

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"rollcall/shared/table"
)

// EnvEndpoint names the variable that points tests at DynamoDB Local.
const EnvEndpoint = "ROLLCALL_TEST_DYNAMODB"

// Region and credentials every local client uses, so that all of them see the same tables in
// DynamoDB Local (which keeps tables per access key and region).
const (
	Region    = "us-east-1"
	AccessKey = "local"
	SecretKey = "local"
)

// Endpoint is the DynamoDB Local URL tests use.
func Endpoint() string {
	if e := os.Getenv(EnvEndpoint); e != "" {
		return e
	}
	return "http://127.0.0.1:8000"
}

// Client returns a DynamoDB client for endpoint with the local region and credentials. It makes
// up to 10 attempts per call: under the tests' concurrency DynamoDB Local sometimes answers 500
// ("timed out waiting for a lock"), which real DynamoDB does not.
func Client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		RetryMaxAttempts: 10,
	})
}

var (
	reachOnce sync.Once
	reachErr  error
)

// DB returns a client of DynamoDB Local and the name of a new, empty table for this test. The
// test fails with instructions when DynamoDB Local is not reachable.
func DB(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	endpoint := Endpoint()
	reachOnce.Do(func() {
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get(endpoint)
		if err != nil {
			reachErr = err
			return
		}
		resp.Body.Close()
	})
	if reachErr != nil {
		t.Fatalf("DynamoDB Local is not reachable at %s (%v): run the tests with `make test`, which starts it, "+
			"or start it with `make dynamodb` (needs Java 17+ and `npm ci`), or set %s", endpoint, reachErr, EnvEndpoint)
	}
	db := Client(endpoint)
	name := "t_" + strings.ToLower(ulid.Make().String())
	if err := table.Create(context.Background(), db, name); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return db, name
}

// Items returns every item of table name (a consistent scan), for checks of what was written.
func Items(t testing.TB, db *dynamodb.Client, name string) []map[string]types.AttributeValue {
	t.Helper()
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan %s: %v", name, err)
		}
		out = append(out, page.Items...)
	}
	return out
}
