// Operators: every account, searchable by name prefix, and account creation (R2).
import { useState } from 'preact/hooks';
import { api, newIdempotencyKey, type Problem, type Schemas } from '../api/client';
import { useSession } from '../auth';
import { call, describe, fieldErrors } from '../errors';
import { Alert, Select, TextField } from '../ui/forms';
import { Pager, Table, usePaged } from '../ui/lists';

const emptyOwner = { firstName: '', lastName: '', email: '', phone: '', company: '', address: '' };

export function OperatorAccounts() {
  const session = useSession();
  const [prefix, setPrefix] = useState('');
  const [search, setSearch] = useState('');
  const list = usePaged<Schemas['Account']>(
    (cursor) => call(api().GET('/accounts', { params: { query: { cursor, limit: 20, prefix: search || undefined } } })),
    [search],
  );
  if (!session?.operator) {
    return (
      <section>
        <h1>All accounts</h1>
        <Alert kind="error">Only operators see every account. Go to <a href="/me">your accounts</a>.</Alert>
      </section>
    );
  }
  return (
    <section>
      <h1>All accounts</h1>
      <div class="split">
        <div>
          <form class="inline" role="search" onSubmit={(e) => { e.preventDefault(); setSearch(prefix.trim()); }}>
            <TextField label="Name starts with" type="search" value={prefix} onInput={setPrefix} />
            <button type="submit">Search</button>
          </form>
          <Table
            caption="Accounts"
            list={list}
            rows={list.items}
            rowKey={(a) => a.id}
            empty={search ? `No account name starts with “${search}”.` : 'No accounts yet.'}
            columns={[
              { label: 'Name', render: (a) => <a href={`/accounts/${a.id}`}>{a.name}</a> },
              { label: 'Type', render: (a) => a.type },
              { label: 'Legacy id', render: (a) => a.legacyId ?? '' },
              { label: 'Owner', render: (a) => `${a.owner.firstName} ${a.owner.lastName} (${a.owner.email})` },
            ]}
          />
          <Pager list={list} label="Accounts" />
        </div>
        <CreateAccount onCreated={() => list.reload()} />
      </div>
    </section>
  );
}

function CreateAccount({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<'customer' | 'partner'>('customer');
  const [legacyId, setLegacyId] = useState('');
  const [owner, setOwner] = useState(emptyOwner);
  const [problem, setProblem] = useState<Problem>();
  const [created, setCreated] = useState<Schemas['Account']>();
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(problem);
  const o = (k: keyof typeof emptyOwner) => (v: string) => setOwner({ ...owner, [k]: v });

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const opt = (s: string) => (s.trim() ? s.trim() : undefined);
    const r = await call(
      api().POST('/accounts', {
        body: {
          name: name.trim(),
          type,
          legacyId: opt(legacyId),
          owner: { firstName: owner.firstName.trim(), lastName: owner.lastName.trim(), email: owner.email.trim(), phone: opt(owner.phone), company: opt(owner.company), address: opt(owner.address) },
        },
        params: { header: { 'Idempotency-Key': newIdempotencyKey() } },
      }),
    );
    setBusy(false);
    if (r.error) return setProblem(r.error);
    setProblem(undefined);
    setCreated(r.data);
    setName('');
    setLegacyId('');
    setOwner(emptyOwner);
    onCreated();
  };

  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="create-account">
      <h2 id="create-account">Create an account</h2>
      <p class="muted">The owner gets an email with a link to accept; the main support site is created with the account.</p>
      {created ? (
        <Alert kind="ok">
          Created <a href={`/accounts/${created.id}`}>{created.name}</a>; the owner invitation is on its way to {created.owner.email}.
        </Alert>
      ) : null}
      {problem ? <Alert kind="error">{describe(problem)}</Alert> : null}
      <TextField label="Account name" value={name} onInput={setName} required error={errs.name} />
      <Select label="Type" value={type} onChange={(v) => setType(v as 'customer' | 'partner')} options={[{ value: 'customer', label: 'Customer' }, { value: 'partner', label: 'Partner' }]} error={errs.type} />
      <TextField label="Legacy id" value={legacyId} onInput={setLegacyId} error={errs.legacyId} hint="Optional; it shows in the main site's name." />
      <fieldset>
        <legend>Owner</legend>
        <TextField label="First name" value={owner.firstName} onInput={o('firstName')} required error={errs['owner.firstName']} />
        <TextField label="Last name" value={owner.lastName} onInput={o('lastName')} required error={errs['owner.lastName']} />
        <TextField label="Email" type="email" value={owner.email} onInput={o('email')} required error={errs['owner.email']} />
        <TextField label="Phone" type="tel" value={owner.phone} onInput={o('phone')} error={errs['owner.phone']} />
        <TextField label="Company" value={owner.company} onInput={o('company')} error={errs['owner.company']} />
        <TextField label="Address" value={owner.address} onInput={o('address')} error={errs['owner.address']} />
      </fieldset>
      <div class="actions">
        <button type="submit" disabled={busy}>Create account</button>
      </div>
    </form>
  );
}
