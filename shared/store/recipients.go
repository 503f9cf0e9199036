package store

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"rollcall/shared/apperr"
	"rollcall/shared/table"
)

const entityRecipients = "recipients"

// counterItem is the count of an email type's recipients in an account (R18): the owner when it
// receives the type, and every contact that does. One item per type (table.RecipientCounter),
// so that contact writes that change no count touch no counter, and those that do meet only
// writes changing the same type.
type counterItem struct {
	table.Key
	Entity    string `dynamodbav:"entity"`
	EmailType string `dynamodbav:"emailType"`
	N         int    `dynamodbav:"n"`
}

// lastRecipientError is a failed counter condition: the change would leave Type without a
// recipient. txn.explain gathers those of one transaction into one 409 naming every type.
type lastRecipientError struct{ Type string }

func (e lastRecipientError) Error() string { return "last recipient of " + e.Type }

// lastRecipients is the 409 last_recipient naming types (R18).
func lastRecipients(types []string) error {
	slices.Sort(types)
	return apperr.Conflict(apperr.CodeLastRecipient, "every required email type needs a recipient; this change would leave none for: %s",
		strings.Join(types, ", ")).With("emailTypes", types)
}

// recipients adds the counter changes of delta (email type → change) to t: one Update per type
// that changes, a required type's decrease conditioned on leaving at least one recipient.
func (t *txn) recipients(accountID string, delta map[string]int) {
	for _, typ := range slices.Sorted(maps.Keys(delta)) {
		d := delta[typ]
		if d == 0 {
			continue
		}
		n := expression.Name("n")
		upd := expression.Set(n, expression.Plus(n.IfNotExists(expression.Value(0)), expression.Value(d))).
			Set(expression.Name("entity"), expression.Value(entityRecipients)).
			Set(expression.Name("emailType"), expression.Value(typ))
		var cond *expression.ConditionBuilder
		if d < 0 && t.s.cat.RequiredEmailType(typ) {
			c := n.GreaterThan(expression.Value(-d))
			cond = &c
		}
		t.update(table.RecipientCounter(accountID, typ), upd, cond, func(item) error { return lastRecipientError{typ} })
	}
}

// initialRecipients adds the counters of a new account whose owner receives types.
func (t *txn) initialRecipients(accountID string, types []string) {
	for _, typ := range types {
		t.put(counterItem{Key: table.RecipientCounter(accountID, typ), Entity: entityRecipients, EmailType: typ, N: 1}, nil, nil)
	}
}

func asLastRecipient(err error) (string, bool) {
	var lr lastRecipientError
	if errors.As(err, &lr) {
		return lr.Type, true
	}
	return "", false
}
