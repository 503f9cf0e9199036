package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rollcall/shared/apperr"
	"rollcall/shared/auth"
	"rollcall/shared/domain"
	"rollcall/shared/idempotency"
	"rollcall/shared/ids"
	"rollcall/shared/invitetoken"
	"rollcall/shared/routes"
	"rollcall/shared/table"
	"rollcall/shared/testenv"
)

var testSigner = func() *invitetoken.Signer {
	s, err := invitetoken.NewSigner([]byte("0123456789abcdef0123456789abcdef-test-key"))
	if err != nil {
		panic(err)
	}
	return s
}()

// token derives the current link token of an invitation from its stored nonce, as the email
// function does.
func (f *fixture) token(accountID, invitationID string) string {
	f.t.Helper()
	it, err := f.s.get(context.Background(), table.Invitation(accountID, invitationID))
	if err != nil || it == nil {
		f.t.Fatalf("invitation %s: %v", invitationID, err)
	}
	inv, err := decodeInvitation(it)
	if err != nil {
		f.t.Fatal(err)
	}
	return testSigner.Token(accountID, invitationID, inv.Nonce)
}

// ownerInvitation finds the owner invitation created with account a.
func (f *fixture) ownerInvitation(accountID string) domain.Invitation {
	f.t.Helper()
	p, err := f.s.ListInvitations(context.Background(), operator, accountID, "", 10, "")
	if err != nil || len(p.Items) != 1 || p.Items[0].Kind != domain.KindOwner {
		f.t.Fatalf("owner invitation: %+v %v", p, err)
	}
	return p.Items[0]
}

// owned creates an account whose owner accepted the owner invitation; it returns the account
// and the owner's caller.
func (f *fixture) owned() (domain.Account, auth.Caller) {
	f.t.Helper()
	a := f.account(domain.AccountCustomer)
	owner := auth.Caller{Sub: "owner-" + a.ID, Email: "owner@acme.example"}
	if _, err := f.s.AcceptInvitation(context.Background(), owner, testSigner, f.token(a.ID, f.ownerInvitation(a.ID).ID), nil); err != nil {
		f.t.Fatalf("owner accepts: %v", err)
	}
	return a, owner
}

func (f *fixture) invite(c auth.Caller, accountID, email string, perms ...string) (domain.Invitation, error) {
	if perms == nil {
		perms = []string{}
	}
	inv, err := domain.NewUserInvitation(ids.New(ids.Invitation), accountID, domain.CreateInvitationInput{Email: email, Permissions: perms},
		f.s.cat, c.Actor(), invitetoken.NewNonce(), f.s.now())
	if err != nil {
		return inv, err
	}
	return inv, f.s.CreateInvitation(context.Background(), c, inv, nil, nil)
}

func TestOwnerInvitationMakesTheOwnerAndInvitedUsersJoinWithAnyEmail(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	u, err := f.s.GetUser(ctx, owner, a.ID, owner.Sub)
	if err != nil || u.Role != domain.RoleOwner {
		t.Fatalf("owner membership: %+v %v", u, err)
	}
	inv, err := f.invite(owner, a.ID, "Linus@Acme.example", routes.ContactsRead)
	if err != nil {
		t.Fatal(err)
	}
	joiner := auth.Caller{Sub: "linus", Email: "linus@personal.example"}
	m, err := f.s.AcceptInvitation(ctx, joiner, testSigner, f.token(a.ID, inv.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Email != "linus@personal.example" || m.InvitedEmail != "Linus@Acme.example" || m.Role != domain.RoleUser || !slices.Equal(m.Permissions, []string{routes.ContactsRead}) {
		t.Fatalf("membership: %+v", m)
	}
	accepted, err := f.s.ListInvitations(ctx, owner, a.ID, domain.StatusAccepted, 10, "")
	if err != nil || len(accepted.Items) != 2 {
		t.Fatalf("accepted invitations: %+v %v", accepted, err)
	}
	for _, i := range accepted.Items {
		if i.ID == inv.ID && (i.AcceptedBy != "linus" || i.AcceptedEmail != "linus@personal.example" || i.Email != "Linus@Acme.example") {
			t.Fatalf("invitation records: %+v", i)
		}
	}
	// A second owner invitation acceptance cannot make a second owner.
	_, err = f.s.AcceptInvitation(ctx, auth.Caller{Sub: "late"}, testSigner, f.token(a.ID, f.ownerInvitationID(a.ID)), nil)
	wantCode(t, err, 409, apperr.CodeInvitationUsed)
}

func (f *fixture) ownerInvitationID(accountID string) string {
	p, _ := f.s.ListInvitations(context.Background(), operator, accountID, "", 10, "")
	for _, i := range p.Items {
		if i.Kind == domain.KindOwner {
			return i.ID
		}
	}
	f.t.Fatal("no owner invitation")
	return ""
}

func TestOneLoginInThreeAccountsSeesThemAll(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	login := auth.Caller{Sub: "multi", Email: "multi@home.example"}
	want := map[string][]string{}
	for i, perms := range [][]string{{routes.ContactsRead}, {routes.ContactsRead, routes.ContactsWrite}, {routes.AuditRead}} {
		a, owner := f.owned()
		inv, err := f.invite(owner, a.ID, fmt.Sprintf("multi%d@work.example", i), perms...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.AcceptInvitation(ctx, login, testSigner, f.token(a.ID, inv.ID), nil); err != nil {
			t.Fatal(err)
		}
		want[a.ID] = perms
	}
	p, err := f.s.ListMyAccounts(ctx, login, 10, "")
	if err != nil || len(p.Items) != 3 {
		t.Fatalf("my accounts: %+v %v", p, err)
	}
	for _, m := range p.Items {
		if !slices.Equal(m.Permissions, want[m.Account.ID]) || m.Role != domain.RoleUser || m.Account.Name == "" {
			t.Errorf("account %s: %+v, want permissions %v", m.Account.ID, m, want[m.Account.ID])
		}
	}
}

func TestTwentyConcurrentAcceptsMakeOneMembership(t *testing.T) {
	f := newFixture(t)
	a, owner := f.owned()
	inv, err := f.invite(owner, a.ID, "race@example.com")
	if err != nil {
		t.Fatal(err)
	}
	tok := f.token(a.ID, inv.ID)
	var joined, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.s.AcceptInvitation(context.Background(), auth.Caller{Sub: fmt.Sprintf("racer-%d", i), Email: fmt.Sprintf("r%d@example.com", i)}, testSigner, tok, nil)
			switch {
			case err == nil:
				joined.Add(1)
			case apperr.Is(err, apperr.CodeInvitationUsed):
				refused.Add(1)
			default:
				t.Errorf("accept %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	users, err := f.s.ListUsers(context.Background(), owner, a.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if joined.Load() != 1 || refused.Load() != 19 || len(users.Items) != 2 {
		t.Fatalf("joined %d, refused %d, members %d; want 1, 19, 2 (owner and one user)", joined.Load(), refused.Load(), len(users.Items))
	}
}

func TestTwentyConcurrentInvitationsOfOneEmailLeaveOnePending(t *testing.T) {
	f := newFixture(t)
	a, owner := f.owned()
	var made, pending atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.invite(owner, a.ID, strings.Repeat(" ", i%2)+"Same@Example.com")
			switch {
			case err == nil:
				made.Add(1)
			case apperr.Is(err, apperr.CodeInvitationPending):
				pending.Add(1)
			default:
				t.Errorf("invite %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	p, err := f.s.ListInvitations(context.Background(), owner, a.ID, domain.StatusPending, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if made.Load() != 1 || pending.Load() != 19 || len(p.Items) != 1 {
		t.Fatalf("made %d, refused %d, pending %d; want 1, 19, 1", made.Load(), pending.Load(), len(p.Items))
	}
}

func TestInvitationErrorPaths(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()

	// R4: the owner's email cannot be invited; nor can a member's.
	_, err := f.invite(owner, a.ID, "OWNER@acme.example")
	wantCode(t, err, 409, apperr.CodeEmailBelongsToUser)
	member, err := f.invite(owner, a.ID, "member@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AcceptInvitation(ctx, auth.Caller{Sub: "m1", Email: "member@example.com"}, testSigner, f.token(a.ID, member.ID), nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.invite(owner, a.ID, "member@example.com")
	wantCode(t, err, 409, apperr.CodeEmailBelongsToUser)

	// Joining with the owner's email is refused too (R4).
	other, err := f.invite(owner, a.ID, "other@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.AcceptInvitation(ctx, auth.Caller{Sub: "imp", Email: "owner@ACME.example"}, testSigner, f.token(a.ID, other.ID), nil)
	wantCode(t, err, 409, apperr.CodeEmailBelongsToUser)

	// Pending invitation named in the conflict (R11).
	_, err = f.invite(owner, a.ID, "other@example.com")
	if e := wantCode(t, err, 409, apperr.CodeInvitationPending); e.Extra["invitationId"] != other.ID {
		t.Fatalf("conflict names %v", e.Extra)
	}

	// Tampered and malformed tokens.
	good := f.token(a.ID, other.ID)
	for _, bad := range []string{good[:len(good)-3] + "abc", "nonsense", a.ID + "." + other.ID + ".", "acc_x.inv_y.zzz", strings.Replace(good, other.ID, member.ID, 1)} {
		_, err = f.s.AcceptInvitation(ctx, auth.Caller{Sub: "x"}, testSigner, bad, nil)
		wantCode(t, err, 400, apperr.CodeInvalidToken)
	}

	// Resend: too soon, then a new link that supersedes the old one.
	_, err = f.s.ResendInvitation(ctx, owner, a.ID, other.ID, false, nil)
	wantCode(t, err, 429, apperr.CodeResendTooSoon)
	f.skew.Store(int64(61 * time.Second))
	re, err := f.s.ResendInvitation(ctx, owner, a.ID, other.ID, false, nil)
	if err != nil || re.SendCount != 2 {
		t.Fatalf("resend: %+v %v", re, err)
	}
	_, err = f.s.AcceptInvitation(ctx, auth.Caller{Sub: "x"}, testSigner, good, nil)
	wantCode(t, err, 400, apperr.CodeInvalidToken)

	// Expired, then resent (works on expired invitations), then accepted, then used again.
	f.skew.Store(int64(8 * 24 * time.Hour))
	_, err = f.s.AcceptInvitation(ctx, auth.Caller{Sub: "x"}, testSigner, f.token(a.ID, other.ID), nil)
	wantCode(t, err, 410, apperr.CodeInvitationExpired)
	expired, err := f.s.ListInvitations(ctx, owner, a.ID, domain.StatusExpired, 10, "")
	if err != nil || len(expired.Items) != 1 || expired.Items[0].ID != other.ID || expired.Items[0].Status != domain.StatusExpired {
		t.Fatalf("expired list: %+v %v", expired, err)
	}
	if _, err := f.s.ResendInvitation(ctx, owner, a.ID, other.ID, false, nil); err != nil {
		t.Fatalf("resend of an expired invitation: %v", err)
	}
	joiner := auth.Caller{Sub: "other", Email: "other@example.com"}
	if _, err := f.s.AcceptInvitation(ctx, joiner, testSigner, f.token(a.ID, other.ID), nil); err != nil {
		t.Fatalf("accept after resend: %v", err)
	}
	_, err = f.s.AcceptInvitation(ctx, auth.Caller{Sub: "y"}, testSigner, f.token(a.ID, other.ID), nil)
	wantCode(t, err, 409, apperr.CodeInvitationUsed)

	// A member cannot join twice; a revoked link is refused; ended invitations cannot be revoked.
	again, err := f.invite(owner, a.ID, "second@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.AcceptInvitation(ctx, joiner, testSigner, f.token(a.ID, again.ID), nil)
	wantCode(t, err, 409, apperr.CodeAlreadyMember)
	if _, err := f.s.RevokeInvitation(ctx, owner, a.ID, again.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.AcceptInvitation(ctx, auth.Caller{Sub: "z"}, testSigner, f.token(a.ID, again.ID), nil)
	wantCode(t, err, 410, apperr.CodeInvitationRevoked)
	_, err = f.s.RevokeInvitation(ctx, owner, a.ID, again.ID)
	wantCode(t, err, 409, apperr.CodeConflict)
	// Revoking freed the email: it can be invited again.
	if _, err := f.invite(owner, a.ID, "second@example.com"); err != nil {
		t.Fatalf("invite after revoke: %v", err)
	}
	v, err := f.s.LookupInvitation(ctx, testSigner, f.token(a.ID, again.ID))
	if err != nil || v.Status != domain.StatusRevoked || v.AccountName != a.Name || v.InvitedBy == nil || v.InvitedBy.Sub != owner.Sub {
		t.Fatalf("look-up: %+v %v", v, err)
	}
}

func TestTableDumpHoldsNoUsableToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	var invs []domain.Invitation
	for i := range 3 {
		inv, err := f.invite(owner, a.ID, fmt.Sprintf("dump%d@example.com", i))
		if err != nil {
			t.Fatal(err)
		}
		invs = append(invs, inv)
	}
	f.skew.Store(int64(2 * time.Minute))
	for _, inv := range invs[:2] {
		if _, err := f.s.ResendInvitation(ctx, owner, a.ID, inv.ID, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	var values []string
	var walk func(av types.AttributeValue)
	walk = func(av types.AttributeValue) {
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			values = append(values, v.Value)
		case *types.AttributeValueMemberM:
			for _, x := range v.Value {
				walk(x)
			}
		case *types.AttributeValueMemberL:
			for _, x := range v.Value {
				walk(x)
			}
		case *types.AttributeValueMemberSS:
			values = append(values, v.Value...)
		}
	}
	for _, it := range testenv.Items(t, f.db, f.name) {
		for _, av := range it {
			walk(av)
		}
	}
	if len(values) < 50 {
		t.Fatalf("the dump holds only %d strings", len(values))
	}
	for _, v := range values {
		if _, err := f.s.LookupInvitation(ctx, testSigner, v); !apperr.Is(err, apperr.CodeInvalidToken) {
			t.Fatalf("stored value %q works as a token: %v", v, err)
		}
	}
	// The check can fail: the current tokens do work.
	for _, inv := range invs {
		if _, err := f.s.LookupInvitation(ctx, testSigner, f.token(a.ID, inv.ID)); err != nil {
			t.Fatalf("live token refused: %v", err)
		}
	}
}

func TestOnlyTheOwnerManagesUsersAndInvitations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	all := domain.AllPermissions(f.s.cat)
	inv, err := f.invite(owner, a.ID, "power@example.com", all...)
	if err != nil {
		t.Fatal(err)
	}
	power := auth.Caller{Sub: "power", Email: "power@example.com"}
	if _, err := f.s.AcceptInvitation(ctx, power, testSigner, f.token(a.ID, inv.ID), nil); err != nil {
		t.Fatal(err)
	}
	// An admin too (the R9 flag set directly: granting it is the admin operation's own test).
	admin := f.member(a.ID, "adm", domain.RoleUser, all...)
	if _, err := f.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(f.name), Key: f.keyAV(table.User(a.ID, "adm")),
		UpdateExpression: aws.String("SET admin = :t"), ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}}); err != nil {
		t.Fatal(err)
	}
	b := f.member(ids.New(ids.Account), "b-owner", domain.RoleOwner)
	pend, err := f.invite(owner, a.ID, "p@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []auth.Caller{power, admin} {
		checks := map[string]error{}
		_, checks["invite"] = f.invite(who, a.ID, "new@example.com")
		_, checks["list invitations"] = f.s.ListInvitations(ctx, who, a.ID, "", 10, "")
		_, checks["resend"] = f.s.ResendInvitation(ctx, who, a.ID, pend.ID, false, nil)
		_, checks["revoke"] = f.s.RevokeInvitation(ctx, who, a.ID, pend.ID)
		_, checks["list users"] = f.s.ListUsers(ctx, who, a.ID, 10, "")
		_, checks["get user"] = f.s.GetUser(ctx, who, a.ID, owner.Sub)
		_, checks["update user"] = f.s.UpdateUserPermissions(ctx, who, a.ID, "power", []string{})
		checks["remove user"] = f.s.RemoveUser(ctx, who, a.ID, "power")
		_, checks["transfer"] = f.s.TransferOwnership(ctx, who, a.ID, who.Sub, nil)
		for op, err := range checks {
			if !apperr.Is(err, apperr.CodeForbidden) {
				t.Errorf("%s by %s: %v, want 403", op, who.Sub, err)
			}
		}
		_, err := f.s.ListUsers(ctx, b, a.ID, 10, "")
		wantCode(t, err, 404, apperr.CodeNotFound)
		_, err = f.invite(b, a.ID, "x@example.com")
		wantCode(t, err, 404, apperr.CodeNotFound)
	}
}

func TestOwnershipTransferAndTheOwnerIsProtected(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	inv, err := f.invite(owner, a.ID, "heir@example.com", routes.ContactsRead)
	if err != nil {
		t.Fatal(err)
	}
	heir := auth.Caller{Sub: "heir", Email: "heir@example.com"}
	if _, err := f.s.AcceptInvitation(ctx, heir, testSigner, f.token(a.ID, inv.ID), nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.UpdateUserPermissions(ctx, owner, a.ID, owner.Sub, []string{})
	wantCode(t, err, 409, apperr.CodeOwnerProtected)
	wantCode(t, f.s.RemoveUser(ctx, operator, a.ID, owner.Sub), 409, apperr.CodeOwnerProtected)
	_, err = f.s.TransferOwnership(ctx, owner, a.ID, "nobody", nil)
	wantCode(t, err, 404, apperr.CodeNotFound)

	acc, err := f.s.TransferOwnership(ctx, owner, a.ID, heir.Sub, nil)
	if err != nil || acc.Owner.Email != "heir@example.com" {
		t.Fatalf("transfer: %+v %v", acc, err)
	}
	newOwner, _ := f.s.GetUser(ctx, heir, a.ID, heir.Sub)
	old, _ := f.s.GetUser(ctx, heir, a.ID, owner.Sub)
	if newOwner.Role != domain.RoleOwner || old.Role != domain.RoleUser || !slices.Equal(old.Permissions, domain.AllPermissions(f.s.cat)) {
		t.Fatalf("after transfer: new %+v old %+v", newOwner, old)
	}
	// The old owner lost owner rights; the new owner's email is the owner's (R4).
	_, err = f.s.ListUsers(ctx, owner, a.ID, 10, "")
	wantCode(t, err, 403, apperr.CodeForbidden)
	_, err = f.invite(heir, a.ID, "HEIR@example.com")
	wantCode(t, err, 409, apperr.CodeEmailBelongsToUser)
	_, err = f.invite(heir, a.ID, "owner@acme.example")
	wantCode(t, err, 409, apperr.CodeEmailBelongsToUser)
	// An operator can move it back.
	if _, err := f.s.TransferOwnership(ctx, operator, a.ID, owner.Sub, nil); err != nil {
		t.Fatalf("operator transfer: %v", err)
	}
	// Removing a user frees its email for a new invitation.
	if err := f.s.RemoveUser(ctx, owner, a.ID, heir.Sub); err != nil {
		t.Fatal(err)
	}
	if _, err := f.invite(owner, a.ID, "heir@example.com"); err != nil {
		t.Fatalf("invite a removed user's email: %v", err)
	}
}

func (f *fixture) keyAV(k table.Key) map[string]types.AttributeValue {
	m, err := attributevalue.MarshalMap(k)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// TestStateChangingPostsReplayTheirFirstAnswer: accept, resend and transfer repeated with their
// Idempotency-Key answer as the first time, instead of "already accepted", 429 or "already the
// owner"; the key with another request is 422.
func TestStateChangingPostsReplayTheirFirstAnswer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, owner := f.owned()
	inv, err := f.invite(owner, a.ID, "again@example.com")
	if err != nil {
		t.Fatal(err)
	}
	joiner := auth.Caller{Sub: "again", Email: "again@example.com"}
	tok := f.token(a.ID, inv.ID)
	key := func(k, accountID, sub, body string) *idempotency.Request {
		r, err := idempotency.Parse(k, accountID, sub, "POST", "/x", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first, err := f.s.AcceptInvitation(ctx, joiner, testSigner, tok, key("k1", "", joiner.Sub, tok))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.AcceptInvitation(ctx, joiner, testSigner, tok, key("k1", "", joiner.Sub, tok))
	var replay *idempotency.Replay
	if !errors.As(err, &replay) || replay.Status != 201 || !strings.Contains(replay.Body, first.JoinedAt.Format(time.RFC3339Nano)[:19]) {
		t.Fatalf("accept repeated: %v", err)
	}
	_, err = f.s.AcceptInvitation(ctx, joiner, testSigner, tok, key("k1", "", joiner.Sub, "other"))
	wantCode(t, err, 422, apperr.CodeIdempotencyMismatch)

	other, err := f.invite(owner, a.ID, "later@example.com")
	if err != nil {
		t.Fatal(err)
	}
	f.skew.Store(int64(2 * time.Minute))
	if _, err := f.s.ResendInvitation(ctx, owner, a.ID, other.ID, false, key("r1", a.ID, owner.Sub, "")); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.ResendInvitation(ctx, owner, a.ID, other.ID, false, key("r1", a.ID, owner.Sub, ""))
	if !errors.As(err, &replay) || replay.Status != 200 {
		t.Fatalf("resend repeated: %v", err)
	}
	if _, err := f.s.TransferOwnership(ctx, owner, a.ID, joiner.Sub, key("t1", a.ID, owner.Sub, "again")); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.TransferOwnership(ctx, owner, a.ID, joiner.Sub, key("t1", a.ID, owner.Sub, "again"))
	if !errors.As(err, &replay) || replay.Status != 200 {
		t.Fatalf("transfer repeated: %v", err)
	}
}

func TestExpiredInvitationsCannotBeRevoked(t *testing.T) {
	f := newFixture(t)
	a, owner := f.owned()
	inv, err := f.invite(owner, a.ID, "late@example.com")
	if err != nil {
		t.Fatal(err)
	}
	f.skew.Store(int64(8 * 24 * time.Hour))
	_, err = f.s.RevokeInvitation(context.Background(), owner, a.ID, inv.ID)
	if e := wantCode(t, err, 409, apperr.CodeConflict); !strings.Contains(e.Detail, "expired") {
		t.Fatalf("detail: %s", e.Detail)
	}
}

// TestOwnerLoginEmailIsGuarded: an owner who joined with a login email other than the account's
// owner email keeps that email from users (R4), and transfers work with it (no 500).
func TestOwnerLoginEmailIsGuarded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(domain.AccountCustomer)
	bob := auth.Caller{Sub: "bob", Email: "bob@corp.example"}
	if _, err := f.s.AcceptInvitation(ctx, bob, testSigner, f.token(a.ID, f.ownerInvitation(a.ID).ID), nil); err != nil {
		t.Fatal(err)
	}
	x, err := f.invite(bob, a.ID, "x@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.AcceptInvitation(ctx, auth.Caller{Sub: "x", Email: "BOB@corp.example"}, testSigner, f.token(a.ID, x.ID), nil)
	wantCode(t, err, 409, apperr.CodeEmailBelongsToUser)
	if _, err := f.s.AcceptInvitation(ctx, auth.Caller{Sub: "x", Email: "x@example.com"}, testSigner, f.token(a.ID, x.ID), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.TransferOwnership(ctx, bob, a.ID, "x", nil); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if err := f.s.RemoveUser(ctx, auth.Caller{Sub: "x", Email: "x@example.com"}, a.ID, "bob"); err != nil {
		t.Fatalf("the new owner removes the old: %v", err)
	}
}
