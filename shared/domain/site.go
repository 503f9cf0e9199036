package domain

// Site is a support site of an account (R20).
type Site struct {
	ID        string `json:"id" dynamodbav:"id"`
	AccountID string `json:"accountId" dynamodbav:"accountId"`
	Name      string `json:"name" dynamodbav:"name"`
	Main      bool   `json:"main" dynamodbav:"main"`
	LegacyID  string `json:"legacyId,omitempty" dynamodbav:"legacyId,omitempty"`
}

// CreateSiteInput is the body of POST /sites.
type CreateSiteInput struct {
	Name     string `json:"name"`
	LegacyID string `json:"legacyId"`
}

// NewSite validates in and returns the (non-main) site it describes; 400 on invalid fields.
func NewSite(id, accountID string, in CreateSiteInput) (Site, error) {
	var p Problems
	s := Site{ID: id, AccountID: accountID}
	s.Name = p.Str("name", in.Name, true, SiteNameField)
	s.LegacyID = p.Str("legacyId", in.LegacyID, false, NameField)
	return s, p.Err()
}

// Relationship relates a contact to a site with one or more roles (R21).
type Relationship struct {
	SiteID    string   `json:"siteId" dynamodbav:"siteId"`
	ContactID string   `json:"contactId,omitempty" dynamodbav:"contactId"`
	Roles     []string `json:"roles" dynamodbav:"roles"`
}
