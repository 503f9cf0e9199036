package domain

import (
	"maps"
	"slices"

	"rollcall/shared/catalog"
)

// RelationshipInput is the body of PUT /accounts/{accountId}/sites/{siteId}/contacts/{contactId}
// (R21): the relationship's complete set of roles, which replaces the current one.
type RelationshipInput struct {
	Roles []string `json:"roles"`
}

// RelationshipRow is one row of POST /accounts/{accountId}/sites/{siteId}/contacts/batch: a PUT
// of contact ContactID's relationship with the site of the path.
type RelationshipRow struct {
	ContactID string   `json:"contactId"`
	Roles     []string `json:"roles"`
}

// RelationshipRoles validates the roles of a relationship against the catalog (R21): at least
// one, each a role of the catalog, none repeated. It returns them in catalog order (the stored,
// canonical order), or a 400 naming field (and field[i] for each bad entry).
func RelationshipRoles(field string, roles []string, cat catalog.Catalog) ([]string, error) {
	var p Problems
	switch {
	case roles == nil:
		p.Add(field, "is required: a list of at least one contact role")
	case len(roles) == 0:
		p.Add(field, "must hold at least one contact role")
	}
	p.OneOf(field, roles, func(r string) bool { _, ok := cat.Role(r); return ok }, "contact role")
	if err := p.Err(); err != nil {
		return nil, err
	}
	return inCatalogOrder(roles, cat), nil
}

func inCatalogOrder(roles []string, cat catalog.Catalog) []string {
	out := make([]string, 0, len(roles))
	for _, r := range cat.Roles {
		if slices.Contains(roles, r.Name) {
			out = append(out, r.Name)
		}
	}
	// Roles the catalog no longer has (a stage changed its catalog) keep their place at the end.
	for _, r := range roles {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// SiteRoles is a contact's relationships as the contact item keeps a copy of them: site id →
// roles. It is what GET contact shows, and an empty map means the contact has no relationship
// (R22's "first relationship").
type SiteRoles map[string][]string

// Relationships lists the relationships of m by site id, without the contact id (as the contact
// shows them).
func (m SiteRoles) Relationships() []Relationship {
	out := make([]Relationship, 0, len(m))
	for _, site := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Relationship{SiteID: site, Roles: slices.Clone(m[site])})
	}
	return out
}

// AdminHoldings counts the admin-eligible roles (R9) held across the relationships of m: each
// eligible role on each site counts once.
func AdminHoldings(m SiteRoles, cat catalog.Catalog) int {
	n := 0
	for _, roles := range m {
		for _, r := range roles {
			if role, ok := cat.Role(r); ok && role.AdminEligible {
				n++
			}
		}
	}
	return n
}

// RelationshipChange is what saving or removing one relationship does to a contact: the roles on
// the site before and after (nil when there is no relationship), the contact's relationships
// before and after, the unique-per-site roles it takes and gives up on the site (their guards,
// R21), and its admin-eligible role holdings before and after (R9).
type RelationshipChange struct {
	SiteID      string
	Old, New    []string
	Before      SiteRoles
	After       SiteRoles
	Take, Free  []string
	AdminBefore int
	AdminAfter  int
}

// Created reports whether the change makes a new relationship (PUT answers 201).
func (c RelationshipChange) Created() bool { return c.Old == nil && c.New != nil }

// Removed reports whether the change removes the relationship.
func (c RelationshipChange) Removed() bool { return c.Old != nil && c.New == nil }

// Unchanged reports whether the change leaves the relationship as it is.
func (c RelationshipChange) Unchanged() bool {
	return (c.Old == nil) == (c.New == nil) && sameSet(c.Old, c.New)
}

// First reports whether the change saves the contact's first relationship (R22).
func (c RelationshipChange) First() bool { return c.Created() && len(c.Before) == 0 }

// ChangeRelationship is the change of setting the roles of the relationship between a contact
// whose relationships are sites and site siteID to roles (already validated), or of removing it
// when roles is nil.
func ChangeRelationship(sites SiteRoles, siteID string, roles []string, cat catalog.Catalog) RelationshipChange {
	c := RelationshipChange{SiteID: siteID, Old: sites[siteID], Before: sites, After: SiteRoles{}}
	for site, r := range sites {
		if site != siteID {
			c.After[site] = r
		}
	}
	if roles != nil {
		c.New = slices.Clone(roles)
		c.After[siteID] = c.New
	}
	unique := func(r string) bool { role, ok := cat.Role(r); return ok && role.UniquePerSite }
	for _, r := range c.New {
		if unique(r) && !slices.Contains(c.Old, r) {
			c.Take = append(c.Take, r)
		}
	}
	for _, r := range c.Old {
		if unique(r) && !slices.Contains(c.New, r) {
			c.Free = append(c.Free, r)
		}
	}
	c.AdminBefore, c.AdminAfter = AdminHoldings(sites, cat), AdminHoldings(c.After, cat)
	return c
}
