package table

import (
	"fmt"
	"strings"
)

// Item kinds, the leading part of a sort key. Every item of an account lives in the partition
// ACCOUNT#id, so one transaction can check and change any of them together (DESIGN §5).
const (
	AccountSK           = "ACCOUNT"
	AccountsGSI1PK      = "ACCOUNTS"
	sitePrefix          = "SITE#"
	contactPrefix       = "CONTACT#"
	contactEmailPrefix  = "CONTACTEMAIL#"
	userPrefix          = "USER#"
	userEmailPrefix     = "USEREMAIL#"
	invitePrefix        = "INVITE#"
	inviteEmailPrefix   = "INVITEEMAIL#"
	emailSendPrefix     = "EMAIL#"
	auditPrefix         = "AUDIT#"
	idempotencyPrefix   = "IDEMPOTENCY#"
	accountPKPrefix     = "ACCOUNT#"
	loginPKPrefix       = "LOGIN#"
	relationshipContact = "#CONTACT#"
	roleGuardInfix      = "#ROLE#"
)

// Key is the primary key of one item.
type Key struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
}

// AccountPK is the partition of every item of account id.
func AccountPK(accountID string) string { return accountPKPrefix + accountID }

// AccountIDFromPK returns the account id of an ACCOUNT#id partition key and whether pk was one.
func AccountIDFromPK(pk string) (string, bool) {
	id, ok := strings.CutPrefix(pk, accountPKPrefix)
	return id, ok && id != ""
}

// LoginPK is the partition of items that belong to a login rather than an account.
func LoginPK(sub string) string { return loginPKPrefix + sub }

// Account is the key of the account item.
func Account(accountID string) Key { return Key{AccountPK(accountID), AccountSK} }

// AccountsGSI1SK orders accounts by lower-cased name in the operators' account list.
func AccountsGSI1SK(name, accountID string) string {
	return strings.ToLower(name) + "#" + accountID
}

// Site is the key of a support site.
func Site(accountID, siteID string) Key { return Key{AccountPK(accountID), sitePrefix + siteID} }

// SitesGSI1PK is the GSI1 partition that lists the sites of an account (sorted by site id).
func SitesGSI1PK(accountID string) string { return "SITES#" + accountID }

// SitePrefix is the sort-key prefix shared by sites and everything filed under them
// (relationships, role guards); a site item's SK has no further '#'.
const SitePrefix = sitePrefix

// Contact is the key of a contact.
func Contact(accountID, contactID string) Key {
	return Key{AccountPK(accountID), contactPrefix + contactID}
}

// ContactPrefix is the sort-key prefix of contacts.
const ContactPrefix = contactPrefix

// ContactEmail is the key of the guard that keeps a contact email unique in its account (R17);
// email must already be normalised.
func ContactEmail(accountID, email string) Key {
	return Key{AccountPK(accountID), contactEmailPrefix + email}
}

// Relationship is the key of the relationship between a site and a contact (R21).
func Relationship(accountID, siteID, contactID string) Key {
	return Key{AccountPK(accountID), sitePrefix + siteID + relationshipContact + contactID}
}

// SiteRelationshipsPrefix is the sort-key prefix of a site's relationships.
func SiteRelationshipsPrefix(siteID string) string {
	return sitePrefix + siteID + relationshipContact
}

// RoleGuard is the key of the guard that keeps a unique-per-site role with one contact (R21).
func RoleGuard(accountID, siteID, role string) Key {
	return Key{AccountPK(accountID), sitePrefix + siteID + roleGuardInfix + role}
}

// User is the key of a membership of login sub in an account (R6).
func User(accountID, sub string) Key { return Key{AccountPK(accountID), userPrefix + sub} }

// UserPrefix is the sort-key prefix of memberships.
const UserPrefix = userPrefix

// UndeliverableContactGSI1 returns the GSI1 keys a contact carries while its email is
// undeliverable (a hard bounce or a complaint): a sparse index of an account's undeliverable
// contacts, which GET …/contacts?emailStatus=undeliverable and the account's warnings read with
// one Query. Contacts carry no other GSI1 keys.
func UndeliverableContactGSI1(accountID, contactID string) (pk, sk string) {
	return "UNDELIVERABLE#" + accountID, contactPrefix + contactID
}

// UserGSI1 returns the GSI1 keys that list a login's memberships (GET /me/accounts).
func UserGSI1(accountID, sub string) (pk, sk string) {
	return LoginPK(sub), AccountPK(accountID)
}

// UserEmail is the key of the guard that keeps user and owner emails apart (R4).
func UserEmail(accountID, email string) Key {
	return Key{AccountPK(accountID), userEmailPrefix + email}
}

// Invitation is the key of an invitation.
func Invitation(accountID, invitationID string) Key {
	return Key{AccountPK(accountID), invitePrefix + invitationID}
}

// InvitationPrefix is the sort-key prefix of invitations.
const InvitationPrefix = invitePrefix

// InvitationEmail is the key of the guard that allows one pending invitation per email (R11).
func InvitationEmail(accountID, email string) Key {
	return Key{AccountPK(accountID), inviteEmailPrefix + email}
}

// EmailSend is the key of the record that an invitation's email for one send was accepted by SES.
func EmailSend(accountID, invitationID string, sendCount int) Key {
	return Key{AccountPK(accountID), fmt.Sprintf("%s%s#%d", emailSendPrefix, invitationID, sendCount)}
}

// Audit is the key of an audit entry; entryID is time-sortable so a reverse query is newest first.
func Audit(accountID, entryID string) Key { return Key{AccountPK(accountID), auditPrefix + entryID} }

// AuditPrefix is the sort-key prefix of audit entries.
const AuditPrefix = auditPrefix

// Idempotency is the key of the record of a POST made with an Idempotency-Key: in the account's
// partition for account routes (accountID non-empty), else in the caller's login partition.
func Idempotency(accountID, sub, key string) Key {
	pk := LoginPK(sub)
	if accountID != "" {
		pk = AccountPK(accountID)
	}
	return Key{pk, idempotencyPrefix + sub + "#" + key}
}

// Contact index items (DESIGN §5, issue 12): copies of a contact in its account's partition,
// under sort keys that order them for one filtered list, so that a filtered page is one Query at
// any account size. They are written in the same transaction as the contact.
const (
	contactSearchPrefix = "CSEARCH#"
	contactTypePrefix   = "CTYPE#"
)

// ContactSearch is the key of the search entry of contact contactID under term (a folded prefix
// term: domain.SearchTerms): ?q= lists the entries whose term starts with the folded query.
func ContactSearch(accountID, term, contactID string) Key {
	return Key{AccountPK(accountID), contactSearchPrefix + term + "#" + contactID}
}

// ContactSearchPrefix is the sort-key prefix of the search entries whose term starts with
// folded (the folded query).
func ContactSearchPrefix(folded string) string { return contactSearchPrefix + folded }

// ContactType is the key of the entry of contact contactID in the list of email type typ's
// recipients (?emailType=), ordered by contact id as the unfiltered list is. Type names hold no
// '#' (catalog names), so one type's prefix never covers another's.
func ContactType(accountID, typ, contactID string) Key {
	return Key{AccountPK(accountID), ContactTypePrefix(typ) + contactID}
}

// ContactTypePrefix is the sort-key prefix of the entries of email type typ's recipients.
func ContactTypePrefix(typ string) string { return contactTypePrefix + typ + "#" }

// ContactIndex is the keys of contact contactID's index entries, in this order: a search entry
// per term (domain.SearchTerms) and an entry per email type it receives. Every write of the
// contact item writes them too (store), and the email-status recorder marks them (sesevents).
func ContactIndex(accountID, contactID string, terms, types []string) []Key {
	keys := make([]Key, 0, len(terms)+len(types))
	for _, term := range terms {
		keys = append(keys, ContactSearch(accountID, term, contactID))
	}
	for _, typ := range types {
		keys = append(keys, ContactType(accountID, typ, contactID))
	}
	return keys
}

// RecipientCounter is the key of the counter of email type typ's recipients in account accountID
// (R18): one item per type, so that only writes that change the same type's count meet on it.
func RecipientCounter(accountID, typ string) Key {
	return Key{AccountPK(accountID), "RECIPIENTS#" + typ}
}

// SchemaVersion is the key of the item that records which layout of the table its data is in
// (store.Migrate): in a partition of its own, outside every account's.
func SchemaVersion() Key { return Key{"SCHEMA", "VERSION"} }

// ContactTypesPrefix is the sort-key prefix of the entries of every email type's recipients.
const ContactTypesPrefix = contactTypePrefix
