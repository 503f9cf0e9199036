// Sites: the account's support sites; operators create more (R20).
import { useState } from 'preact/hooks';
import { api, newIdempotencyKey, type Problem, type Schemas } from '../api/client';
import { call, describe, fieldErrors } from '../errors';
import { AccountShell, type AccountCtx } from '../ui/AccountShell';
import { Alert, TextField } from '../ui/forms';
import { Pager, Table, usePaged } from '../ui/lists';

export function Sites({ accountId }: { accountId: string }) {
  return <AccountShell accountId={accountId} title="Sites">{(ctx) => <SitesBody ctx={ctx} />}</AccountShell>;
}

function SitesBody({ ctx }: { ctx: AccountCtx }) {
  const accountId = ctx.account.id;
  const list = usePaged<Schemas['Site']>((cursor) => call(api().GET('/accounts/{accountId}/sites', { params: { path: { accountId }, query: { cursor, limit: 20 } } })), [accountId]);
  return (
    <div class="split">
      <div>
        <Table
          caption="Sites"
          list={list}
          rows={list.items}
          rowKey={(s) => s.id}
          empty="No sites."
          columns={[
            { label: 'Site', render: (s) => <a href={`/accounts/${accountId}/sites/${s.id}`}>{s.name}</a> },
            { label: 'Main', render: (s) => (s.main ? 'main site' : '') },
            { label: 'Legacy id', render: (s) => s.legacyId ?? '' },
          ]}
        />
        <Pager list={list} label="Sites" />
      </div>
      {ctx.membership.role === 'operator' ? <CreateSite accountId={accountId} onCreated={list.reload} /> : null}
    </div>
  );
}

function CreateSite({ accountId, onCreated }: { accountId: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [legacyId, setLegacyId] = useState('');
  const [problem, setProblem] = useState<Problem>();
  const [created, setCreated] = useState<Schemas['Site']>();
  const errs = fieldErrors(problem);
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await call(
      api().POST('/accounts/{accountId}/sites', {
        params: { path: { accountId }, header: { 'Idempotency-Key': newIdempotencyKey() } },
        body: { name: name.trim(), legacyId: legacyId.trim() || undefined },
      }),
    );
    if (r.error) return setProblem(r.error);
    setProblem(undefined);
    setCreated(r.data);
    setName('');
    setLegacyId('');
    onCreated();
  };
  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="create-site">
      <h2 id="create-site">Create a site</h2>
      {created ? <Alert kind="ok">Created {created.name}.</Alert> : null}
      {problem && problem.code !== 'validation_failed' ? <Alert kind="error">{describe(problem)}</Alert> : null}
      <TextField label="Site name" value={name} onInput={setName} required error={errs.name} />
      <TextField label="Legacy id" value={legacyId} onInput={setLegacyId} error={errs.legacyId} />
      <div class="actions">
        <button type="submit">Create site</button>
      </div>
    </form>
  );
}
