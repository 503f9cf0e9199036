// Package catalog holds the stage's catalog: contact roles (with their unique-per-site and
// admin-eligible marks), permissions (built in and the stage's own) and email types (with whether
// each needs a recipient at all times). Defaults are DESIGN.md's; a stage may override them.
package catalog

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"rollcall/shared/routes"
)

// Role is a contact role a relationship may hold (R21).
type Role struct {
	Name          string `json:"name"`
	UniquePerSite bool   `json:"uniquePerSite"`
	AdminEligible bool   `json:"adminEligible"`
}

// Permission is a user permission (R8).
type Permission struct {
	Name    string `json:"name"`
	BuiltIn bool   `json:"builtIn"`
}

// EmailType is a kind of email a contact or the owner may receive (R18).
type EmailType struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
}

// Catalog is what GET /catalog answers.
type Catalog struct {
	Roles       []Role       `json:"roles"`
	Permissions []Permission `json:"permissions"`
	EmailTypes  []EmailType  `json:"emailTypes"`
}

// BuiltInPermissions are the permissions rollcall itself enforces.
var BuiltInPermissions = []string{routes.ContactsRead, routes.ContactsWrite, routes.SitesWrite, routes.AuditRead}

// Default is the catalog of DESIGN.md.
func Default() Catalog {
	c := Catalog{
		Roles: []Role{
			{Name: "Primary", UniquePerSite: true, AdminEligible: true},
			{Name: "Secondary", AdminEligible: true},
			{Name: "Technical"},
			{Name: "Billing"},
			{Name: "Renewal"},
		},
		EmailTypes: []EmailType{
			{Name: "billing", Required: true},
			{Name: "service", Required: true},
			{Name: "security", Required: true},
			{Name: "marketing", Required: true},
		},
	}
	for _, p := range BuiltInPermissions {
		c.Permissions = append(c.Permissions, Permission{Name: p, BuiltIn: true})
	}
	return c
}

// Overrides is a stage's change to the default catalog, as JSON in its configuration. Roles and
// email types, when given, replace the defaults; extra permissions are added to the built-in ones.
type Overrides struct {
	Roles            []Role      `json:"roles,omitempty"`
	EmailTypes       []EmailType `json:"emailTypes,omitempty"`
	ExtraPermissions []string    `json:"extraPermissions,omitempty"`
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_:.-]{0,63}$`)

// FromJSON returns the default catalog with the overrides in raw applied (raw may be empty).
// It returns an error naming the first invalid or repeated name.
func FromJSON(raw string) (Catalog, error) {
	c := Default()
	if raw == "" {
		return c, nil
	}
	var o Overrides
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return c, fmt.Errorf("catalog: %w", err)
	}
	if len(o.Roles) > 0 {
		c.Roles = o.Roles
	}
	if len(o.EmailTypes) > 0 {
		c.EmailTypes = o.EmailTypes
	}
	for _, p := range o.ExtraPermissions {
		c.Permissions = append(c.Permissions, Permission{Name: p})
	}
	seen := map[string]bool{}
	check := func(kind, name string) error {
		if !namePattern.MatchString(name) || seen[kind+name] {
			return fmt.Errorf("catalog: %s %q is invalid or repeated", kind, name)
		}
		seen[kind+name] = true
		return nil
	}
	for _, r := range c.Roles {
		if err := check("role", r.Name); err != nil {
			return c, err
		}
	}
	for _, p := range c.Permissions {
		if err := check("permission", p.Name); err != nil {
			return c, err
		}
	}
	for _, t := range c.EmailTypes {
		if err := check("email type", t.Name); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Role returns the role called name, and whether there is one.
func (c Catalog) Role(name string) (Role, bool) {
	i := slices.IndexFunc(c.Roles, func(r Role) bool { return r.Name == name })
	if i < 0 {
		return Role{}, false
	}
	return c.Roles[i], true
}

// HasPermission reports whether name is in the catalog.
func (c Catalog) HasPermission(name string) bool {
	return slices.ContainsFunc(c.Permissions, func(p Permission) bool { return p.Name == name })
}

// HasEmailType reports whether name is in the catalog.
func (c Catalog) HasEmailType(name string) bool {
	return slices.ContainsFunc(c.EmailTypes, func(t EmailType) bool { return t.Name == name })
}

// EmailTypeNames lists every email type, in catalog order.
func (c Catalog) EmailTypeNames() []string {
	names := make([]string, len(c.EmailTypes))
	for i, t := range c.EmailTypes {
		names[i] = t.Name
	}
	return names
}

// RequiredEmailType reports whether type name must always have a recipient (R18).
func (c Catalog) RequiredEmailType(name string) bool {
	return slices.ContainsFunc(c.EmailTypes, func(t EmailType) bool { return t.Name == name && t.Required })
}
