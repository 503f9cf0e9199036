// Package domain holds rollcall's entities and the rules over them (DESIGN §1, R1–R23) that do
// not need the table: validation of inputs, normalisation of emails, the main site's name, what
// a member may do, and how email-type recipients change. The store enforces the rules that need
// the table, in the same transaction as each change.
package domain

import (
	"bytes"
	"encoding/json"
	"reflect"
	"time"
)

// Actor is who made a change or an invitation: a login (with its email) or an operator.
type Actor struct {
	Sub      string `json:"sub" dynamodbav:"sub"`
	Email    string `json:"email,omitempty" dynamodbav:"email,omitempty"`
	Operator bool   `json:"operator,omitempty" dynamodbav:"operator,omitempty"`
}

// Optional is a field of a PATCH body: absent (Set false), null (Set and Null) or a value.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// OptionalValue is the type of the value (httpapi's decoder checks a body against it).
func (Optional[T]) OptionalValue() reflect.Type { return reflect.TypeFor[T]() }

// UnmarshalJSON records that the field was present, and whether it was null.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// Timestamp formats t as the API does: RFC 3339 UTC.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
