package domain

import (
	"fmt"
	"slices"
	"testing"

	"rollcall/shared/apperr"
	"rollcall/shared/catalog"
)

func TestRelationshipChangeRules(t *testing.T) {
	cat := catalog.Default()
	roles, err := RelationshipRoles("roles", []string{"Technical", "Primary"}, cat)
	if err != nil || !slices.Equal(roles, []string{"Primary", "Technical"}) {
		t.Fatalf("catalog order: %v %v", roles, err)
	}
	for _, tc := range []struct {
		in    []string
		field string
	}{{nil, "roles"}, {[]string{}, "roles"}, {[]string{"Boss"}, "roles[0]"}, {[]string{"Primary", "Primary"}, "roles[1]"}} {
		_, err := RelationshipRoles("roles", tc.in, cat)
		e, ok := apperr.As(err)
		if !ok || e.Status != 400 || len(e.Fields) == 0 || e.Fields[0].Field != tc.field {
			t.Errorf("%v: got %v, want 400 naming %s", tc.in, err, tc.field)
		}
	}
	sites := SiteRoles{"s1": {"Primary", "Technical"}, "s2": {"Secondary"}}
	ch := ChangeRelationship(sites, "s1", []string{"Technical"}, cat)
	if ch.Created() || ch.Removed() || ch.Unchanged() || fmt.Sprint(ch.Free) != "[Primary]" || ch.Take != nil || ch.AdminBefore != 2 || ch.AdminAfter != 1 {
		t.Fatalf("change: %+v", ch)
	}
	ch = ChangeRelationship(sites, "s2", nil, cat)
	if !ch.Removed() || len(ch.After) != 1 || ch.AdminAfter != 1 {
		t.Fatalf("removal: %+v", ch)
	}
	ch = ChangeRelationship(SiteRoles{}, "s3", []string{"Primary"}, cat)
	if !ch.Created() || !ch.First() || fmt.Sprint(ch.Take) != "[Primary]" {
		t.Fatalf("first: %+v", ch)
	}
	if !ChangeRelationship(sites, "s2", []string{"Secondary"}, cat).Unchanged() {
		t.Fatal("same roles must be unchanged")
	}
}
