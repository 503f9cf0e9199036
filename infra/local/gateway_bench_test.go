package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// listBody is a list-contacts answer of n contacts, shaped like the real one.
func listBody(n int) string {
	type contact struct {
		ID, AccountID, Email, FirstName, LastName, Phone, EmailStatus string
		EmailTypes                                                    []string
		CreatedAt, UpdatedAt                                          time.Time
		Version                                                       int
	}
	items := make([]contact, n)
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for i := range items {
		items[i] = contact{ID: fmt.Sprintf("con_01JD%022d", i), AccountID: "acc_01JD0000000000000000000001",
			Email: fmt.Sprintf("person%d@customer.example", i), FirstName: "Ada", LastName: fmt.Sprintf("Lovelace %d", i),
			Phone: "+1 555 0100", EmailStatus: "ok", EmailTypes: []string{"billing", "marketing"}, CreatedAt: now, UpdatedAt: now, Version: 3}
	}
	b, _ := json.Marshal(map[string]any{"items": items, "nextCursor": "eyJQSyI6IkFDQ09VTlQjYWNjXzAxIiwiU0siOiJDT05UQUNUIzAxIn0"})
	return string(b)
}

// BenchmarkGatewayOverhead measures what the local gateway adds to a function's answer of a
// 50-contact list (no DynamoDB: the function answers at once), in-process (ServeHTTP) and over
// HTTP, beside the function called directly. go test -run - -bench GatewayOverhead ./infra/local
func BenchmarkGatewayOverhead(b *testing.B) {
	body := listBody(50)
	api := &fakeAPI{answer: func(string, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json", "ETag": `"3"`}, Body: body}, nil
	}}
	hs := api.handlers()
	signer, err := GenerateSigner()
	if err != nil {
		b.Fatal(err)
	}
	gw, err := NewGateway(hs, signer, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := signer.Mint("alice", "alice@example.com", false, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	path := "/accounts/acc_1/contacts"
	b.Run("function", func(b *testing.B) {
		req := events.APIGatewayV2HTTPRequest{RouteKey: "GET /accounts/{accountId}/contacts"}
		for b.Loop() {
			api.got = api.got[:0]
			if _, err := hs["list-contacts"](context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeResponse", func(b *testing.B) {
		out, _ := json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: body})
		for b.Loop() {
			if decodeResponse(out).StatusCode != 200 {
				b.Fatal("status")
			}
		}
	})
	b.Run("gateway in-process", func(b *testing.B) {
		for b.Loop() {
			api.got = api.got[:0]
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	b.Run("gateway HTTP", func(b *testing.B) {
		srv := httptest.NewServer(gw)
		defer srv.Close()
		for b.Loop() {
			api.got = api.got[:0]
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := srv.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
