package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/infra/local/localtest"
	"rollcall/shared/table"
)

// BenchmarkGatewayOverhead measures DESIGN §7's gateway budget side by side in one run: the
// median latency of GET /accounts/{id}/contacts/{id} through the local gateway (HTTP, JWT check,
// API Gateway event, Lambda invoke, handler, one BatchGetItem) against the median of the raw
// BatchGetItem the operation makes. It reports both medians and their ratio (budget: 1.25).
//
//	make dynamodb &  ROLLCALL_TEST_DYNAMODB=http://127.0.0.1:8000 go test -run '^$' -bench GatewayOverhead ./infra/local/e2e
func BenchmarkGatewayOverhead(b *testing.B) {
	s := localtest.Start(b)
	op := s.OperatorToken(b, "ops-1")
	a := ownedAccountB(b, s, op)
	owner := a.ownerToken
	r := s.Do(b, "POST", "/accounts/"+a.id+"/contacts", op, `{"email":"bench@acme.example","emailTypes":["billing"]}`)
	var c struct{ ID string }
	r.JSON(b, &c)
	path := "/accounts/" + a.id + "/contacts/" + c.ID
	keys := []map[string]types.AttributeValue{mustKey(b, table.User(a.id, "bench-owner")), mustKey(b, table.Contact(a.id, c.ID))}
	raw := func() {
		out, err := s.DB.BatchGetItem(context.Background(), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			s.Table: {Keys: keys, ConsistentRead: aws.Bool(true)}}})
		if err != nil || len(out.Responses[s.Table]) != 2 {
			b.Fatalf("raw read: %v", err)
		}
	}
	api := func() {
		if r := s.Do(b, "GET", path, owner, nil); r.Status != 200 {
			b.Fatalf("GET contact: %d %s", r.Status, r.Body)
		}
	}
	for range 50 { // warm both paths
		raw()
		api()
	}
	var rawTimes, apiTimes []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		raw()
		t1 := time.Now()
		api()
		rawTimes = append(rawTimes, t1.Sub(t0))
		apiTimes = append(apiTimes, time.Since(t1))
	}
	b.StopTimer()
	mr, ma := median(rawTimes), median(apiTimes)
	b.ReportMetric(float64(mr.Microseconds()), "raw-median-µs")
	b.ReportMetric(float64(ma.Microseconds()), "api-median-µs")
	b.ReportMetric(float64(ma)/float64(mr), "ratio")
}

func median(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

func mustKey(b *testing.B, k table.Key) map[string]types.AttributeValue {
	m, err := attributevalue.MarshalMap(k)
	if err != nil {
		b.Fatal(err)
	}
	return m
}
