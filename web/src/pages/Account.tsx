// An account: its details, the owner's details and email preferences (editable by the owner and
// operators), the recipients of each email type, and what needs attention.
import { useEffect, useState } from 'preact/hooks';
import { api, etag, type Problem, type Schemas } from '../api/client';
import { call, describe, fieldErrors } from '../errors';
import { contactName, useCatalog } from '../data';
import { AccountShell, type AccountCtx } from '../ui/AccountShell';
import { Alert, Checks, Select, TextField } from '../ui/forms';

export function AccountPage({ accountId }: { accountId: string }) {
  return (
    <AccountShell accountId={accountId} title="Account">
      {(ctx) => <AccountBody ctx={ctx} />}
    </AccountShell>
  );
}

function AccountBody({ ctx }: { ctx: AccountCtx }) {
  const { account, membership } = ctx;
  const canEdit = membership.role === 'owner' || membership.role === 'operator';
  const [editing, setEditing] = useState(false);
  const o = account.owner;
  return (
    <div class="split">
      <div>
        <div class="card">
          <h2>Details</h2>
          <dl class="details">
            <dt>Name</dt>
            <dd>{account.name}</dd>
            <dt>Type</dt>
            <dd>{account.type}</dd>
            {account.legacyId ? (
              <>
                <dt>Legacy id</dt>
                <dd>{account.legacyId}</dd>
              </>
            ) : null}
            <dt>Owner</dt>
            <dd>
              {o.firstName} {o.lastName} ({o.email})
            </dd>
            {o.phone ? (<><dt>Phone</dt><dd>{o.phone}</dd></>) : null}
            {o.company ? (<><dt>Company</dt><dd>{o.company}</dd></>) : null}
            {o.address ? (<><dt>Address</dt><dd>{o.address}</dd></>) : null}
            <dt>Owner receives</dt>
            <dd>{account.ownerEmailTypes.join(', ') || 'no email'}</dd>
          </dl>
          {canEdit && !editing ? (
            <button type="button" onClick={() => setEditing(true)}>Edit</button>
          ) : null}
        </div>
        {editing ? <EditAccount ctx={ctx} onDone={() => setEditing(false)} /> : null}
      </div>
      <Recipients ctx={ctx} />
    </div>
  );
}

function EditAccount({ ctx, onDone }: { ctx: AccountCtx; onDone: () => void }) {
  const { account, membership } = ctx;
  const catalog = useCatalog();
  const operator = membership.role === 'operator';
  const [name, setName] = useState(account.name);
  const [type, setType] = useState(account.type);
  const [legacyId, setLegacyId] = useState(account.legacyId ?? '');
  const [owner, setOwner] = useState({
    firstName: account.owner.firstName,
    lastName: account.owner.lastName,
    email: account.owner.email,
    phone: account.owner.phone ?? '',
    company: account.owner.company ?? '',
    address: account.owner.address ?? '',
  });
  const [types, setTypes] = useState(account.ownerEmailTypes);
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(problem);
  const set = (k: keyof typeof owner) => (v: string) => setOwner({ ...owner, [k]: v });
  const orNull = (s: string) => (s.trim() ? s.trim() : null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const body: Schemas['UpdateAccountInput'] = {
      owner: { firstName: owner.firstName.trim(), lastName: owner.lastName.trim(), email: owner.email.trim(), phone: orNull(owner.phone), company: orNull(owner.company), address: orNull(owner.address) },
      ownerEmailTypes: types,
    };
    if (operator) {
      body.name = name.trim();
      body.type = type;
      body.legacyId = orNull(legacyId);
    }
    const r = await call(api().PATCH('/accounts/{accountId}', { params: { path: { accountId: account.id }, header: { 'If-Match': etag(account.version) } }, body }));
    setBusy(false);
    if (r.error) return setProblem(r.error);
    ctx.setAccount(r.data);
    onDone();
  };

  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="edit-account">
      <h2 id="edit-account">Edit the account</h2>
      {problem && problem.code !== 'last_recipient' ? (
        <Alert kind="error">
          {describe(problem)}
          {problem.code === 'precondition_failed' ? (
            <> <button type="button" class="link" onClick={() => { ctx.reloadAccount(); onDone(); }}>Reload</button></>
          ) : null}
        </Alert>
      ) : null}
      {operator ? (
        <>
          <TextField label="Account name" value={name} onInput={setName} error={errs.name} hint="Renames the main site too." />
          <Select label="Type" value={type} onChange={(v) => setType(v as 'customer' | 'partner')} options={[{ value: 'customer', label: 'Customer' }, { value: 'partner', label: 'Partner' }]} error={errs.type} />
          <TextField label="Legacy id" value={legacyId} onInput={setLegacyId} error={errs.legacyId} />
        </>
      ) : null}
      <fieldset>
        <legend>Owner details</legend>
        <TextField label="First name" value={owner.firstName} onInput={set('firstName')} required error={errs['owner.firstName']} />
        <TextField label="Last name" value={owner.lastName} onInput={set('lastName')} required error={errs['owner.lastName']} />
        <TextField label="Email" type="email" value={owner.email} onInput={set('email')} required error={errs['owner.email']} />
        <TextField label="Phone" type="tel" value={owner.phone} onInput={set('phone')} error={errs['owner.phone']} />
        <TextField label="Company" value={owner.company} onInput={set('company')} error={errs['owner.company']} />
        <TextField label="Address" value={owner.address} onInput={set('address')} error={errs['owner.address']} />
      </fieldset>
      <Checks
        legend="Email the owner receives"
        options={(catalog?.emailTypes ?? []).map((t) => ({ value: t.name, note: t.required ? 'required' : undefined }))}
        selected={types}
        onChange={setTypes}
        error={errs.ownerEmailTypes ?? (problem?.code === 'last_recipient' ? describe(problem) : undefined)}
      />
      <div class="actions">
        <button type="submit" disabled={busy}>Save</button>
        <button type="button" class="secondary" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}

interface TypeRecipients {
  type: Schemas['EmailType'];
  contacts: Schemas['Contact'][];
  more: boolean;
  error?: Problem;
}

/** Recipients lists who receives each email type, and warns where a required type has none. */
function Recipients({ ctx }: { ctx: AccountCtx }) {
  const { account, membership } = ctx;
  const catalog = useCatalog();
  const [rows, setRows] = useState<TypeRecipients[]>();
  const [failed, setFailed] = useState<Schemas['Invitation'][]>([]);
  const mayReadContacts = membership.role !== 'user' || membership.admin || membership.permissions.includes('contacts:read');
  const manager = membership.role === 'owner' || membership.role === 'operator';

  useEffect(() => {
    if (!catalog || !mayReadContacts) return;
    Promise.all(
      catalog.emailTypes.map(async (type) => {
        const r = await call(api().GET('/accounts/{accountId}/contacts', { params: { path: { accountId: account.id }, query: { emailType: type.name, limit: 5 } } }));
        return r.error ? { type, contacts: [], more: false, error: r.error } : { type, contacts: r.data.items, more: !!r.data.nextCursor };
      }),
    ).then(setRows);
  }, [catalog, account.id, account.version]);

  useEffect(() => {
    if (!manager) return;
    call(api().GET('/accounts/{accountId}/invitations', { params: { path: { accountId: account.id }, query: { status: 'pending', limit: 100 } } })).then((r) => {
      if (r.data) setFailed(r.data.items.filter((i) => i.delivery?.status === 'failed'));
    });
  }, [account.id]);

  const warnings: string[] = [];
  for (const row of rows ?? []) {
    const owner = account.ownerEmailTypes.includes(row.type.name);
    if (row.type.required && !owner && row.contacts.length === 0 && !row.error) warnings.push(`Nobody receives “${row.type.name}” email, though it is required.`);
  }
  for (const w of account.warnings ?? []) warnings.push(w.message);
  if (account.emailStatus?.status === 'undeliverable') warnings.push(`Email to the owner's address ${account.owner.email} bounced or was marked as spam${account.emailStatus.reason ? ` (${account.emailStatus.reason})` : ''}: correct it in the owner details.`);
  for (const i of failed) warnings.push(`The invitation email to ${i.email} could not be delivered${i.delivery?.reason ? `: ${i.delivery.reason}` : ''}. Check the address, then resend it from Users.`);

  return (
    <div class="card">
      <h2>Who receives which email</h2>
      {warnings.length ? (
        <Alert kind="warn">
          <ul class="plain">
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Alert>
      ) : null}
      {!mayReadContacts ? <p class="muted">You need the contacts:read permission to see the contacts who receive email.</p> : null}
      {!rows && mayReadContacts ? <p role="status">Loading…</p> : null}
      <dl class="details">
        {(rows ?? []).map((row) => (
          <>
            <dt key={`t-${row.type.name}`}>
              {row.type.name}
              {row.type.required ? <span class="muted"> (required)</span> : null}
            </dt>
            <dd key={`d-${row.type.name}`}>
              {row.error ? describe(row.error) : null}
              <ul class="plain">
                {account.ownerEmailTypes.includes(row.type.name) ? <li>the owner, {account.owner.email}</li> : null}
                {row.contacts.map((c) => (
                  <li key={c.id}>
                    <a href={`/accounts/${account.id}/contacts/${c.id}`}>{contactName(c)}</a>
                  </li>
                ))}
                {row.more ? (
                  <li>
                    <a href={`/accounts/${account.id}/contacts?emailType=${encodeURIComponent(row.type.name)}`}>and more…</a>
                  </li>
                ) : null}
                {!row.error && row.contacts.length === 0 && !account.ownerEmailTypes.includes(row.type.name) ? <li>nobody</li> : null}
              </ul>
            </dd>
          </>
        ))}
      </dl>
    </div>
  );
}
