package domain

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"rollcall/shared/apperr"
	"rollcall/shared/catalog"
)

// Account types (R1).
const (
	AccountCustomer = "customer"
	AccountPartner  = "partner"
)

// Owner is the owner details of an account (R1).
type Owner struct {
	FirstName string `json:"firstName" dynamodbav:"firstName"`
	LastName  string `json:"lastName" dynamodbav:"lastName"`
	Email     string `json:"email" dynamodbav:"email"`
	Phone     string `json:"phone,omitempty" dynamodbav:"phone,omitempty"`
	Company   string `json:"company,omitempty" dynamodbav:"company,omitempty"`
	Address   string `json:"address,omitempty" dynamodbav:"address,omitempty"`
}

// Account is a customer's or partner's tenant (R1).
type Account struct {
	ID              string    `json:"id" dynamodbav:"id"`
	Name            string    `json:"name" dynamodbav:"name"`
	Type            string    `json:"type" dynamodbav:"type"`
	LegacyID        string    `json:"legacyId,omitempty" dynamodbav:"legacyId,omitempty"`
	Owner           Owner     `json:"owner" dynamodbav:"owner"`
	OwnerEmailTypes []string  `json:"ownerEmailTypes" dynamodbav:"ownerEmailTypes"`
	CreatedAt       time.Time `json:"createdAt" dynamodbav:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt" dynamodbav:"updatedAt"`
	Version         int       `json:"version" dynamodbav:"version"`
	// EmailStatus is the owner's address's status, set by a hard bounce or complaint of an
	// email to it; cleared when the owner's email changes.
	EmailStatus *EmailStatus `json:"emailStatus,omitempty" dynamodbav:"emailStatus,omitempty"`
	// Warnings are computed on reads (GET /accounts/{id}), never stored.
	Warnings []AccountWarning `json:"warnings,omitempty" dynamodbav:"-"`
}

// AccountWarning is a problem of an account its owner should act on: today, a required email
// type (R18) none of whose recipients can receive email (code no_deliverable_recipient).
type AccountWarning struct {
	Code      string `json:"code"`
	EmailType string `json:"emailType"`
	Message   string `json:"message"`
}

// WarningNoDeliverableRecipient is the code of the warning that a required email type has
// recipients but none whose address is deliverable.
const WarningNoDeliverableRecipient = "no_deliverable_recipient"

// EmailWarnings returns the warnings of account a: each required email type (required reports
// which are) whose recipients, recipients[type] counting the owner and the contacts, are all
// undeliverable — the owner when a.EmailStatus says so, and undeliverable, the email types of
// the account's undeliverable contacts. Sorted by type.
func EmailWarnings(a Account, recipients map[string]int, undeliverable [][]string, required func(string) bool) []AccountWarning {
	lost := map[string]int{}
	if a.EmailStatus != nil && a.EmailStatus.Status == EmailUndeliverable {
		for _, t := range a.OwnerEmailTypes {
			lost[t]++
		}
	}
	for _, types := range undeliverable {
		for _, t := range types {
			lost[t]++
		}
	}
	var out []AccountWarning
	for _, t := range slices.Sorted(maps.Keys(lost)) {
		if required(t) && recipients[t] <= lost[t] {
			out = append(out, AccountWarning{Code: WarningNoDeliverableRecipient, EmailType: t,
				Message: "no recipient of required email type " + t + " can receive email: every address that receives it has bounced or complained"})
		}
	}
	return out
}

// AccountSummary is an account as GET /me/accounts lists it.
type AccountSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// OwnerInput is the owner part of a create or update body.
type OwnerInput struct {
	FirstName Optional[string] `json:"firstName"`
	LastName  Optional[string] `json:"lastName"`
	Email     Optional[string] `json:"email"`
	Phone     Optional[string] `json:"phone"`
	Company   Optional[string] `json:"company"`
	Address   Optional[string] `json:"address"`
}

// CreateAccountInput is the body of POST /accounts.
type CreateAccountInput struct {
	Name     string     `json:"name"`
	Type     string     `json:"type"`
	LegacyID string     `json:"legacyId"`
	Owner    OwnerInput `json:"owner"`
}

// UpdateAccountInput is the body of PATCH /accounts/{id}; null removes an optional field.
type UpdateAccountInput struct {
	Name            Optional[string]     `json:"name"`
	Type            Optional[string]     `json:"type"`
	LegacyID        Optional[string]     `json:"legacyId"`
	Owner           Optional[OwnerInput] `json:"owner"`
	OwnerEmailTypes Optional[[]string]   `json:"ownerEmailTypes"`
}

// NewAccount validates in and returns the account it describes, created at now with id, whose
// owner receives every email type of cat. It returns a 400 listing every invalid field.
func NewAccount(id string, in CreateAccountInput, cat catalog.Catalog, now time.Time) (Account, error) {
	var p Problems
	a := Account{ID: id, OwnerEmailTypes: cat.EmailTypeNames(), CreatedAt: now, UpdatedAt: now, Version: 1}
	a.Name = p.Str("name", in.Name, true, NameField)
	a.Type = accountType(&p, in.Type)
	a.LegacyID = p.Str("legacyId", in.LegacyID, false, NameField)
	a.Owner = applyOwner(&p, Owner{}, in.Owner, true)
	return a, p.Err()
}

func accountType(p *Problems, t string) string {
	switch t {
	case "":
		return AccountCustomer
	case AccountCustomer, AccountPartner:
		return t
	}
	p.Add("type", "must be %q or %q", AccountCustomer, AccountPartner)
	return t
}

// applyOwner applies in to o; with create set, first name, last name and email are required.
func applyOwner(p *Problems, o Owner, in OwnerInput, create bool) Owner {
	required := func(field string, f Optional[string], cur string) string {
		if create && !f.Set || f.Null {
			p.Add("owner."+field, "is required")
			return cur
		}
		if !f.Set {
			return cur
		}
		return p.Str("owner."+field, f.Value, true, NameField)
	}
	optional := func(field string, f Optional[string], cur string, check func(string, string) string) string {
		if !f.Set {
			return cur
		}
		if f.Null {
			return ""
		}
		return check("owner."+field, f.Value)
	}
	text := func(field, v string) string { return p.Str(field, v, false, TextField) }
	o.FirstName = required("firstName", in.FirstName, o.FirstName)
	o.LastName = required("lastName", in.LastName, o.LastName)
	if create && !in.Email.Set || in.Email.Null {
		p.Add("owner.email", "is required")
	} else if in.Email.Set {
		o.Email = p.Email("owner.email", in.Email.Value)
	}
	o.Phone = optional("phone", in.Phone, o.Phone, p.Phone)
	o.Company = optional("company", in.Company, o.Company, text)
	o.Address = optional("address", in.Address, o.Address, text)
	return o
}

// AccountChange is the result of applying an update: the new account and what changed.
type AccountChange struct {
	Account      Account
	Changed      map[string]any // field → new value, for the audit entry
	OldOwnerMail string         // normalised previous owner email when it changed, else ""
	TypesDelta   map[string]int // recipient counter changes from the owner's email types (R18)
}

// ApplyAccountUpdate validates in against the current account a and returns the change. Only an
// operator may change name, type or legacy id (403 otherwise). It returns 400 for invalid fields.
func ApplyAccountUpdate(a Account, in UpdateAccountInput, operator bool, cat catalog.Catalog, now time.Time) (AccountChange, error) {
	var p Problems
	old := a
	ch := AccountChange{Changed: map[string]any{}}
	if (in.Name.Set || in.Type.Set || in.LegacyID.Set) && !operator {
		return ch, apperr.Forbidden("only an operator may change an account's name, type or legacy id")
	}
	if in.Name.Set {
		if in.Name.Null {
			p.Add("name", "is required")
		} else {
			a.Name = p.Str("name", in.Name.Value, true, NameField)
		}
	}
	if in.Type.Set {
		if in.Type.Null {
			p.Add("type", "is required")
		} else if in.Type.Value == "" {
			p.Add("type", "must be %q or %q", AccountCustomer, AccountPartner)
		} else {
			a.Type = accountType(&p, in.Type.Value)
		}
	}
	if in.LegacyID.Set {
		a.LegacyID = ""
		if !in.LegacyID.Null {
			a.LegacyID = p.Str("legacyId", in.LegacyID.Value, false, NameField)
		}
	}
	if in.Owner.Null {
		p.Add("owner", "is required: change its fields instead")
	} else if in.Owner.Set {
		a.Owner = applyOwner(&p, a.Owner, in.Owner.Value, false)
	}
	if in.OwnerEmailTypes.Set {
		if in.OwnerEmailTypes.Null {
			in.OwnerEmailTypes.Value = []string{}
		}
		a.OwnerEmailTypes = p.OneOf("ownerEmailTypes", in.OwnerEmailTypes.Value, cat.HasEmailType, "email type")
	}
	if err := p.Err(); err != nil {
		return ch, err
	}
	diff(ch.Changed, "name", old.Name, a.Name)
	diff(ch.Changed, "type", old.Type, a.Type)
	diff(ch.Changed, "legacyId", old.LegacyID, a.LegacyID)
	if old.Owner != a.Owner {
		ch.Changed["owner"] = a.Owner
	}
	if NormaliseEmail(old.Owner.Email) != NormaliseEmail(a.Owner.Email) {
		ch.OldOwnerMail = NormaliseEmail(old.Owner.Email)
	}
	ch.TypesDelta = RecipientDelta(old.OwnerEmailTypes, a.OwnerEmailTypes)
	if len(ch.TypesDelta) > 0 || !sameSet(old.OwnerEmailTypes, a.OwnerEmailTypes) {
		ch.Changed["ownerEmailTypes"] = a.OwnerEmailTypes
	}
	if len(ch.Changed) > 0 {
		a.UpdatedAt = now
		a.Version++
	}
	ch.Account = a
	return ch, nil
}

// CheckAccountUpdate validates the values of in on their own (before the account is read), so that
// a 400 can list them with the body's other problems; ApplyAccountUpdate checks them again.
func CheckAccountUpdate(in UpdateAccountInput, cat catalog.Catalog) error {
	_, err := ApplyAccountUpdate(Account{Type: AccountCustomer}, in, true, cat, time.Time{})
	return err
}

// MainSiteName is the name of an account's main support site (R20).
func MainSiteName(a Account) string {
	if a.LegacyID != "" {
		return fmt.Sprintf("%s – Legacy %s – Main Site", a.Name, a.LegacyID)
	}
	return a.Name + " Main Site"
}

func diff(m map[string]any, field string, old, new string) {
	if old != new {
		m[field] = new
	}
}
