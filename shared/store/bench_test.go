package store

import (
	"context"
	"fmt"
	"testing"

	"rollcall/shared/domain"
)

// Benchmarks of single operations on DynamoDB Local: a create is one TransactWriteItems, a read
// one BatchGetItem, a list a Query in parallel with the membership GetItem (DESIGN §7). Run with
// DynamoDB Local up (make dynamodb):
//
//	ROLLCALL_TEST_DYNAMODB=http://127.0.0.1:8000 go test -run '^$' -bench . -benchmem ./shared/store
func BenchmarkCreateContact(b *testing.B) {
	f := newFixture(b)
	a := f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.contact(owner, a.ID, fmt.Sprintf("c%d@example.com", i), "billing"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetContact(b *testing.B) {
	f := newFixture(b)
	a := f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	c, err := f.contact(owner, a.ID, "read@example.com")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.s.GetContact(context.Background(), owner, a.ID, c.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListContacts50(b *testing.B) {
	f := newFixture(b)
	a := f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	for i := range 60 {
		if _, err := f.contact(owner, a.ID, fmt.Sprintf("l%d@example.com", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := f.s.ListContacts(context.Background(), owner, a.ID, ContactFilter{}, 50, "")
		if err != nil || len(p.Items) != 50 {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateContact(b *testing.B) {
	f := newFixture(b)
	a := f.account(domain.AccountCustomer)
	owner := f.member(a.ID, "owner", domain.RoleOwner)
	c, err := f.contact(owner, a.ID, "upd@example.com", "billing")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		types := []string{"billing"}
		if i%2 == 0 {
			types = append(types, "service")
		}
		if _, err := f.s.UpdateContact(context.Background(), owner, a.ID, c.ID, domain.UpdateContactInput{EmailTypes: set(types)}, 0); err != nil {
			b.Fatal(err)
		}
	}
}
