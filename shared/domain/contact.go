package domain

import (
	"slices"
	"time"

	"rollcall/shared/catalog"
)

// Contact is a person of an account who receives email (R16). It cannot log in, unless it has
// accepted a welcome invitation (R22): UserID is then the login linked to it.
type Contact struct {
	ID            string         `json:"id" dynamodbav:"id"`
	AccountID     string         `json:"accountId" dynamodbav:"accountId"`
	Email         string         `json:"email" dynamodbav:"email"`
	FirstName     string         `json:"firstName,omitempty" dynamodbav:"firstName,omitempty"`
	LastName      string         `json:"lastName,omitempty" dynamodbav:"lastName,omitempty"`
	Phone         string         `json:"phone,omitempty" dynamodbav:"phone,omitempty"`
	EmailTypes    []string       `json:"emailTypes" dynamodbav:"emailTypes"`
	CreatedAt     time.Time      `json:"createdAt" dynamodbav:"createdAt"`
	UpdatedAt     time.Time      `json:"updatedAt" dynamodbav:"updatedAt"`
	Version       int            `json:"version" dynamodbav:"version"`
	UserID        string         `json:"userId,omitempty" dynamodbav:"userId,omitempty"`           // the user linked by accepting the contact's welcome invitation (R22)
	EmailStatus   *EmailStatus   `json:"emailStatus,omitempty" dynamodbav:"emailStatus,omitempty"` // set by a hard bounce or complaint; cleared with an email change
	Relationships []Relationship `json:"relationships,omitempty" dynamodbav:"-"`
}

// CreateContactInput is the body of POST /contacts and one row of a batch.
type CreateContactInput struct {
	Email      string   `json:"email"`
	FirstName  string   `json:"firstName"`
	LastName   string   `json:"lastName"`
	Phone      string   `json:"phone"`
	EmailTypes []string `json:"emailTypes"`
}

// UpdateContactInput is the body of PATCH /contacts/{id}; null removes an optional field.
type UpdateContactInput struct {
	Email      Optional[string]   `json:"email"`
	FirstName  Optional[string]   `json:"firstName"`
	LastName   Optional[string]   `json:"lastName"`
	Phone      Optional[string]   `json:"phone"`
	EmailTypes Optional[[]string] `json:"emailTypes"`
}

// NewContact validates in and returns the contact of account accountID it describes. A contact
// receives no email type unless in names some. It returns a 400 listing every invalid field.
func NewContact(id, accountID string, in CreateContactInput, cat catalog.Catalog, now time.Time) (Contact, error) {
	var p Problems
	c := Contact{ID: id, AccountID: accountID, CreatedAt: now, UpdatedAt: now, Version: 1}
	c.Email = p.Email("email", in.Email)
	c.FirstName = p.Str("firstName", in.FirstName, false, NameField)
	c.LastName = p.Str("lastName", in.LastName, false, NameField)
	c.Phone = p.Phone("phone", in.Phone)
	c.EmailTypes = p.OneOf("emailTypes", in.EmailTypes, cat.HasEmailType, "email type")
	if c.EmailTypes == nil {
		c.EmailTypes = []string{}
	}
	return c, p.Err()
}

// ContactChange is the result of applying an update to a contact.
type ContactChange struct {
	Contact    Contact
	Changed    map[string]any // field → new value, for the audit entry
	OldEmail   string         // normalised previous email when the email changed, else ""
	TypesDelta map[string]int // recipient counter changes (R18)
}

// ApplyContactUpdate validates in against contact c and returns the change; 400 on invalid fields.
func ApplyContactUpdate(c Contact, in UpdateContactInput, cat catalog.Catalog, now time.Time) (ContactChange, error) {
	var p Problems
	old := c
	ch := ContactChange{Changed: map[string]any{}}
	if in.Email.Set {
		if in.Email.Null {
			p.Add("email", "is required")
		} else {
			c.Email = p.Email("email", in.Email.Value)
		}
	}
	opt := func(f Optional[string], cur string, check func(string) string) string {
		switch {
		case !f.Set:
			return cur
		case f.Null:
			return ""
		}
		return check(f.Value)
	}
	c.FirstName = opt(in.FirstName, c.FirstName, func(v string) string { return p.Str("firstName", v, false, NameField) })
	c.LastName = opt(in.LastName, c.LastName, func(v string) string { return p.Str("lastName", v, false, NameField) })
	c.Phone = opt(in.Phone, c.Phone, func(v string) string { return p.Phone("phone", v) })
	if in.EmailTypes.Set {
		if in.EmailTypes.Null {
			in.EmailTypes.Value = []string{}
		}
		c.EmailTypes = p.OneOf("emailTypes", in.EmailTypes.Value, cat.HasEmailType, "email type")
	}
	if err := p.Err(); err != nil {
		return ch, err
	}
	diff(ch.Changed, "email", old.Email, c.Email)
	diff(ch.Changed, "firstName", old.FirstName, c.FirstName)
	diff(ch.Changed, "lastName", old.LastName, c.LastName)
	diff(ch.Changed, "phone", old.Phone, c.Phone)
	if !sameSet(old.EmailTypes, c.EmailTypes) {
		ch.Changed["emailTypes"] = c.EmailTypes
	}
	if NormaliseEmail(old.Email) != NormaliseEmail(c.Email) {
		ch.OldEmail = NormaliseEmail(old.Email)
	}
	ch.TypesDelta = RecipientDelta(old.EmailTypes, c.EmailTypes)
	if len(ch.Changed) > 0 {
		c.UpdatedAt = now
		c.Version++
	}
	ch.Contact = c
	return ch, nil
}

// CheckContactUpdate validates the values of in on their own (before the contact is read), so that
// a 400 can list them with the body's other problems; ApplyContactUpdate checks them again.
func CheckContactUpdate(in UpdateContactInput, cat catalog.Catalog) error {
	_, err := ApplyContactUpdate(Contact{}, in, cat, time.Time{})
	return err
}

// RecipientDelta is how the per-type recipient counters change when a recipient's email types
// go from old to new: -1 for each type dropped, +1 for each type added (R18).
func RecipientDelta(old, new []string) map[string]int {
	d := map[string]int{}
	for _, t := range old {
		if !slices.Contains(new, t) {
			d[t]--
		}
	}
	for _, t := range new {
		if !slices.Contains(old, t) {
			d[t]++
		}
	}
	return d
}

func sameSet(a, b []string) bool {
	return len(RecipientDelta(a, b)) == 0
}

// Recipients is the starting counter map for a new account whose owner receives types.
func Recipients(types []string) map[string]int {
	m := map[string]int{}
	for _, t := range types {
		m[t] = 1
	}
	return m
}
