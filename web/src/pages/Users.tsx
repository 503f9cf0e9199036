// Users (owner and operators only, R7): members with their permissions, invitations.
import { useState } from 'preact/hooks';
import { api, newIdempotencyKey, type Problem, type Schemas } from '../api/client';
import { call, describe, fieldErrors } from '../errors';
import { useCatalog, when } from '../data';
import { AccountShell, type AccountCtx } from '../ui/AccountShell';
import { useConfirm } from '../ui/confirm';
import { Alert, Checks, Select, TextField } from '../ui/forms';
import { Pager, Table, usePaged } from '../ui/lists';

export function Users({ accountId }: { accountId: string }) {
  return (
    <AccountShell accountId={accountId} title="Users">
      {(ctx) =>
        ctx.membership.role === 'owner' || ctx.membership.role === 'operator' ? (
          <UsersBody ctx={ctx} />
        ) : (
          <Alert kind="error">Only the account's owner manages its users.</Alert>
        )
      }
    </AccountShell>
  );
}

function UsersBody({ ctx }: { ctx: AccountCtx }) {
  const accountId = ctx.account.id;
  const catalog = useCatalog();
  const { dialog, confirm } = useConfirm();
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const [editing, setEditing] = useState<string>();
  const users = usePaged<Schemas['User']>((cursor) => call(api().GET('/accounts/{accountId}/users', { params: { path: { accountId }, query: { cursor, limit: 20 } } })), [accountId]);
  const [status, setStatus] = useState('');
  const invitations = usePaged<Schemas['Invitation']>(
    (cursor) =>
      call(
        api().GET('/accounts/{accountId}/invitations', {
          params: { path: { accountId }, query: { cursor, limit: 20, status: (status || undefined) as Schemas['Invitation']['status'] | undefined } },
        }),
      ),
    [accountId, status],
  );
  const operator = ctx.membership.role === 'operator';
  const report = (r: { error?: Problem }, ok: string) => setMessage(r.error ? { kind: 'error', text: describe(r.error) } : { kind: 'ok', text: ok });

  const remove = async (u: Schemas['User']) => {
    if (!(await confirm(`Remove ${u.email}?`, `${u.email} will lose access to ${ctx.account.name} at once. Their login is not deleted; they can be invited again.`, 'Remove user'))) return;
    const r = await call(api().DELETE('/accounts/{accountId}/users/{userId}', { params: { path: { accountId, userId: u.id } } }));
    report(r, `${u.email} was removed.`);
    users.reload();
  };
  const transfer = async (u: Schemas['User']) => {
    if (!(await confirm(`Make ${u.email} the owner?`, `${u.email} becomes the owner of ${ctx.account.name}. The current owner stays as a user with every permission and can no longer manage users.`, 'Transfer ownership'))) return;
    const r = await call(api().POST('/accounts/{accountId}/ownership', { params: { path: { accountId }, header: { 'Idempotency-Key': newIdempotencyKey() } }, body: { userId: u.id } }));
    report(r, `${u.email} is now the owner.`);
    users.reload();
    ctx.reloadAccount();
  };
  const setAdmin = async (u: Schemas['User'], on: boolean) => {
    if (!on && !(await confirm(`Revoke admin privileges of ${u.email}?`, `${u.email} keeps only their own permissions.`, 'Revoke admin'))) return;
    const path = { accountId, userId: u.id };
    const r = on
      ? await call(api().PUT('/accounts/{accountId}/users/{userId}/admin', { params: { path } }))
      : await call(api().DELETE('/accounts/{accountId}/users/{userId}/admin', { params: { path } }));
    report(r, on ? `${u.email} is now an admin.` : `${u.email} is no longer an admin.`);
    users.reload();
  };
  const resend = async (i: Schemas['Invitation']) => {
    const send = (force: boolean) =>
      call(
        api().POST('/accounts/{accountId}/invitations/{invitationId}/resend', {
          params: { path: { accountId, invitationId: i.id }, header: { 'Idempotency-Key': newIdempotencyKey() } },
          ...(force ? { body: { force: true } } : {}),
        }),
      );
    let r = await send(false);
    // An address that hard-bounced or complained is refused unless the owner insists (issue 9).
    if (r.error?.code === 'email_undeliverable' && (await confirm(`Send to ${i.email} anyway?`, describe(r.error), 'Send anyway'))) r = await send(true);
    report(r, `The invitation was sent again to ${i.email}; the previous link no longer works.`);
    invitations.reload();
  };
  const revoke = async (i: Schemas['Invitation']) => {
    if (!(await confirm(`Revoke the invitation to ${i.email}?`, 'The link in the email stops working at once.', 'Revoke invitation'))) return;
    const r = await call(api().DELETE('/accounts/{accountId}/invitations/{invitationId}', { params: { path: { accountId, invitationId: i.id } } }));
    report(r, `The invitation to ${i.email} was revoked.`);
    invitations.reload();
  };

  return (
    <>
      {dialog}
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      <div class="split">
        <div>
          <h2>Members</h2>
          <Table
            caption="Users of the account"
            list={users}
            rows={users.items}
            rowKey={(u) => u.id}
            empty="No users yet."
            columns={[
              {
                label: 'User',
                render: (u) => (
                  <>
                    {u.email}
                    {u.invitedEmail && u.invitedEmail.toLowerCase() !== u.email.toLowerCase() ? <div class="muted">invited as {u.invitedEmail}</div> : null}
                  </>
                ),
              },
              { label: 'Role', render: (u) => (u.role === 'owner' ? 'Owner' : 'User') + (u.admin ? ', admin' : '') },
              {
                label: 'Permissions',
                render: (u) =>
                  u.role === 'owner' ? (
                    'all'
                  ) : editing === u.id ? (
                    <EditPermissions
                      user={u}
                      options={catalog?.permissions ?? []}
                      onDone={(saved) => {
                        setEditing(undefined);
                        if (saved) {
                          users.setItems((xs) => xs.map((x) => (x.id === saved.id ? saved : x)));
                          setMessage({ kind: 'ok', text: `The permissions of ${saved.email} were saved.` });
                        }
                      }}
                    />
                  ) : (
                    u.permissions.join(', ') || 'none'
                  ),
              },
              {
                label: 'Actions',
                class: 'row-actions',
                render: (u) =>
                  u.role === 'owner' ? null : (
                    <>
                      {editing !== u.id ? (
                        <button type="button" class="secondary" onClick={() => setEditing(u.id)} aria-label={`Permissions of ${u.email}`}>
                          Permissions
                        </button>
                      ) : null}
                      <button type="button" class="secondary" onClick={() => transfer(u)} aria-label={`Make owner: ${u.email}`}>
                        Make owner
                      </button>
                      {operator ? (
                        <button type="button" class="secondary" onClick={() => setAdmin(u, !u.admin)} aria-label={`${u.admin ? 'Revoke admin' : 'Grant admin'}: ${u.email}`}>
                          {u.admin ? 'Revoke admin' : 'Grant admin'}
                        </button>
                      ) : null}
                      <button type="button" class="danger" onClick={() => remove(u)} aria-label={`Remove ${u.email}`}>
                        Remove
                      </button>
                    </>
                  ),
              },
            ]}
          />
          <Pager list={users} label="Users" />
        </div>
        <Invite accountId={accountId} permissions={catalog?.permissions ?? []} onInvited={(i) => { setMessage({ kind: 'ok', text: `An invitation was sent to ${i.email}.` }); invitations.reload(); }} />
      </div>

      <h2>Invitations</h2>
      <div class="filters">
      <Select
        label="Show"
        value={status}
        onChange={setStatus}
        options={[
          { value: '', label: 'All invitations' },
          { value: 'pending', label: 'Pending' },
          { value: 'accepted', label: 'Accepted' },
          { value: 'expired', label: 'Expired' },
          { value: 'revoked', label: 'Revoked' },
        ]}
      />
      </div>
      <Table
        caption="Invitations"
        list={invitations}
        rows={invitations.items}
        rowKey={(i) => i.id}
        empty="No invitations."
        columns={[
          { label: 'Email', render: (i) => i.email },
          { label: 'Kind', render: (i) => i.kind },
          { label: 'Status', render: (i) => <span class={`status status-${i.status}`}>{i.status}</span> },
          { label: 'Expires', render: (i) => when(i.expiresAt) },
          {
            label: 'Email delivery',
            render: (i) =>
              i.delivery ? (i.delivery.status === 'sent' ? `sent ${when(i.delivery.at)}` : `failed: ${i.delivery.reason ?? 'unknown reason'}`) : 'not yet known',
          },
          { label: 'Sent', render: (i) => `${i.sendCount}×` },
          { label: 'Permissions', render: (i) => i.permissions.join(', ') || 'none' },
          {
            label: 'Actions',
            class: 'row-actions',
            render: (i) =>
              i.status === 'pending' || i.status === 'expired' ? (
                <>
                  <button type="button" class="secondary" onClick={() => resend(i)} aria-label={`Resend the invitation to ${i.email}`}>
                    Resend
                  </button>
                  {i.status === 'pending' ? (
                    <button type="button" class="danger" onClick={() => revoke(i)} aria-label={`Revoke the invitation to ${i.email}`}>
                      Revoke
                    </button>
                  ) : null}
                </>
              ) : null,
          },
        ]}
      />
      <Pager list={invitations} label="Invitations" />
    </>
  );
}

function EditPermissions({ user, options, onDone }: { user: Schemas['User']; options: Schemas['Permission'][]; onDone: (saved?: Schemas['User']) => void }) {
  const [perms, setPerms] = useState(user.permissions);
  const [problem, setProblem] = useState<Problem>();
  const save = async (e: Event) => {
    e.preventDefault();
    const r = await call(api().PATCH('/accounts/{accountId}/users/{userId}', { params: { path: { accountId: user.accountId, userId: user.id } }, body: { permissions: perms } }));
    if (r.error) setProblem(r.error);
    else onDone(r.data);
  };
  return (
    <form onSubmit={save} class="compact">
      <Checks legend={`Permissions of ${user.email}`} options={options.map((p) => ({ value: p.name, note: p.builtIn ? undefined : 'custom' }))} selected={perms} onChange={setPerms} error={problem ? fieldErrors(problem).permissions ?? describe(problem) : undefined} />
      <div class="actions">
        <button type="submit">Save permissions</button>
        <button type="button" class="secondary" onClick={() => onDone()}>Cancel</button>
      </div>
    </form>
  );
}

function Invite({ accountId, permissions, onInvited }: { accountId: string; permissions: Schemas['Permission'][]; onInvited: (i: Schemas['Invitation']) => void }) {
  const [email, setEmail] = useState('');
  const [perms, setPerms] = useState<string[]>([]);
  const [days, setDays] = useState('7');
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(problem);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const r = await call(
      api().POST('/accounts/{accountId}/invitations', {
        params: { path: { accountId }, header: { 'Idempotency-Key': newIdempotencyKey() } },
        body: { email: email.trim(), permissions: perms, expiresInDays: Number(days) },
      }),
    );
    setBusy(false);
    if (r.error) return setProblem(r.error);
    setProblem(undefined);
    setEmail('');
    setPerms([]);
    setDays('7');
    onInvited(r.data);
  };
  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="invite-title">
      <h2 id="invite-title">Invite a user</h2>
      {problem && problem.code !== 'validation_failed' ? <Alert kind="error">{describe(problem)}</Alert> : null}
      <TextField label="Email" type="email" value={email} onInput={setEmail} required error={errs.email} />
      <Checks legend="Permissions" options={permissions.map((p) => ({ value: p.name, note: p.builtIn ? undefined : 'custom' }))} selected={perms} onChange={setPerms} error={errs.permissions} />
      <TextField label="Expires after (days)" type="number" min={1} max={30} value={days} onInput={setDays} error={errs.expiresInDays} hint="1 to 30 days; 7 by default." />
      <div class="actions">
        <button type="submit" disabled={busy}>Send invitation</button>
      </div>
    </form>
  );
}
