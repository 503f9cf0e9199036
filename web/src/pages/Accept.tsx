// The page the invitation email links to: /invitations/accept?token=…
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, newIdempotencyKey, type Problem, type Schemas } from '../api/client';
import { useSession } from '../auth';
import { getConfig } from '../config';
import { call, describe } from '../errors';
import { rememberAccount, when } from '../data';
import { Alert } from '../ui/forms';

const kindWords: Record<Schemas['InvitationView']['kind'], string> = {
  owner: 'the owner',
  user: 'a user',
  welcome: 'a user',
};

/** statusWords explains an invitation that can no longer be accepted, and what to do. */
function statusWords(v: Schemas['InvitationView']): string | null {
  switch (v.status) {
    case 'expired':
      return `This invitation expired on ${when(v.expiresAt)}. Ask ${v.invitedBy?.email ?? `the owner of ${v.accountName}`} to resend it: the new email will have a fresh link.`;
    case 'revoked':
      return `This invitation was revoked, so the link no longer works. Ask the owner of ${v.accountName} for a new invitation if you still need access.`;
    case 'accepted':
      return 'This invitation has already been used: each link works once. If it was you, open your accounts; otherwise ask the owner for a new invitation.';
  }
  return null;
}

export function Accept() {
  const { query, url } = useLocation();
  const session = useSession();
  const token = query.token ?? '';
  const [view, setView] = useState<Schemas['InvitationView']>();
  const [problem, setProblem] = useState<Problem>();
  const [joined, setJoined] = useState<Schemas['User']>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!session || !token) return;
    call(api().POST('/invitations/lookup', { body: { token } })).then((r) => (r.error ? setProblem(r.error) : setView(r.data)));
  }, [session?.sub, token]);

  if (!token) {
    return (
      <section class="narrow">
        <h1>Accept an invitation</h1>
        <Alert kind="error">This link has no invitation token. Open the link from the email again, or copy all of it into the address bar.</Alert>
      </section>
    );
  }

  if (!session) {
    const signInUrl = `/signin?next=${encodeURIComponent(url)}`;
    return (
      <section class="narrow">
        <h1>You have been invited</h1>
        <p>Sign in to see the invitation and accept it. If you have no login yet, create one: you will come back to this page afterwards.</p>
        <p>
          <a class="button" href={signInUrl}>{getConfig().signIn === 'cognito' ? 'Sign in or sign up' : 'Sign in'}</a>
        </p>
      </section>
    );
  }

  const accept = async () => {
    setBusy(true);
    const r = await call(api().POST('/invitations/accept', { body: { token }, params: { header: { 'Idempotency-Key': newIdempotencyKey() } } }));
    setBusy(false);
    if (r.error) setProblem(r.error);
    else {
      setJoined(r.data);
      rememberAccount(r.data.accountId);
    }
  };

  const closed = view ? statusWords(view) : null;
  return (
    <section class="narrow">
      <h1>Accept an invitation</h1>
      {problem ? <Alert kind="error">{describe(problem)}</Alert> : null}
      {!view && !problem ? <p role="status">Looking the invitation up…</p> : null}
      {view ? (
        <div class="card">
          <p class="lead" id="invitation-summary">
            Join <strong>{view.accountName}</strong> as {kindWords[view.kind]}, invited as <strong>{view.invitedEmail}</strong>; you are signed in as{' '}
            <strong>{session.email ?? session.sub}</strong>.
          </p>
          {view.kind === 'owner' ? <p>You will own the account: you can do everything in it, including managing its users.</p> : null}
          {view.kind === 'welcome' ? <p>You were added as a contact of {view.accountName}; accepting completes your login setup.</p> : null}
          {view.kind !== 'owner' ? (
            <div>
              <h2>Permissions offered</h2>
              {view.permissions.length ? (
                <ul>
                  {view.permissions.map((p) => (
                    <li key={p}>{p}</li>
                  ))}
                </ul>
              ) : (
                <p>None: you will be a member without permissions until the owner grants some.</p>
              )}
            </div>
          ) : null}
          <p class="muted">
            {view.invitedBy ? `Invited by ${view.invitedBy.email ?? view.invitedBy.sub}; ` : ''}
            {view.status === 'pending' ? 'expires' : 'expired'} {when(view.expiresAt)}.
          </p>
          {session.email && session.email.toLowerCase() !== view.invitedEmail.toLowerCase() ? (
            <p class="muted">You are signed in with a different email than the one invited. That is allowed: the account will record both.</p>
          ) : null}
          {closed ? <Alert kind="warn">{closed}</Alert> : null}
          {joined ? (
            <Alert kind="ok">
              You joined {view.accountName}. <a href={`/accounts/${joined.accountId}`}>Open the account</a>
            </Alert>
          ) : view.status === 'pending' ? (
            <div class="actions">
              <button type="button" onClick={accept} disabled={busy}>
                Accept and join {view.accountName}
              </button>
            </div>
          ) : null}
        </div>
      ) : null}
      <p>
        <a href="/me">My accounts</a>
      </p>
    </section>
  );
}
