// Contacts: search, filter by email type, page; create one by one with Save & New, or many by
// pasting rows from a spreadsheet (the batch route, each row's result on its row).
import { useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, newIdempotencyKey, type Problem, type Schemas } from '../api/client';
import { call, describe, fieldErrors } from '../errors';
import { can, contactName, useCatalog } from '../data';
import { AccountShell, type AccountCtx } from '../ui/AccountShell';
import { Alert, Checks, Select, TextField } from '../ui/forms';
import { Pager, Table, usePaged } from '../ui/lists';

export function Contacts({ accountId }: { accountId: string }) {
  return <AccountShell accountId={accountId} title="Contacts">{(ctx) => <ContactsBody ctx={ctx} />}</AccountShell>;
}

function ContactsBody({ ctx }: { ctx: AccountCtx }) {
  const accountId = ctx.account.id;
  const { query } = useLocation();
  const catalog = useCatalog();
  const [q, setQ] = useState(query.q ?? '');
  const [filter, setFilter] = useState({ q: query.q ?? '', emailType: query.emailType ?? '' });
  const [mode, setMode] = useState<'none' | 'new' | 'paste'>('none');
  const list = usePaged<Schemas['Contact']>(
    (cursor) =>
      call(
        api().GET('/accounts/{accountId}/contacts', {
          params: { path: { accountId }, query: { cursor, limit: 20, q: filter.q || undefined, emailType: filter.emailType || undefined } },
        }),
      ),
    [accountId, filter.q, filter.emailType],
  );
  const writer = can(ctx.membership, 'contacts:write');

  return (
    <>
      {writer ? (
        <div class="actions">
          <button type="button" onClick={() => setMode(mode === 'new' ? 'none' : 'new')} aria-expanded={mode === 'new'}>
            New contact
          </button>
          <button type="button" class="secondary" onClick={() => setMode(mode === 'paste' ? 'none' : 'paste')} aria-expanded={mode === 'paste'}>
            Paste many
          </button>
        </div>
      ) : null}
      {mode === 'new' ? <NewContact ctx={ctx} emailTypes={catalog?.emailTypes ?? []} onSaved={list.reload} onClose={() => setMode('none')} /> : null}
      {mode === 'paste' ? <PasteMany ctx={ctx} emailTypes={catalog?.emailTypes ?? []} onSaved={list.reload} onClose={() => setMode('none')} /> : null}

      <form class="inline" role="search" aria-label="Find contacts" onSubmit={(e) => { e.preventDefault(); setFilter({ ...filter, q: q.trim() }); }}>
        <TextField label="Name or email contains" type="search" value={q} onInput={setQ} />
        <Select
          label="Receives"
          value={filter.emailType}
          onChange={(v) => setFilter({ ...filter, emailType: v })}
          options={[{ value: '', label: 'any email type' }, ...(catalog?.emailTypes ?? []).map((t) => ({ value: t.name, label: t.name }))]}
        />
        <button type="submit">Search</button>
      </form>
      <Table
        caption="Contacts"
        list={list}
        rows={list.items}
        rowKey={(c) => c.id}
        empty={filter.q || filter.emailType ? 'No contact matches.' : 'No contacts yet.'}
        columns={[
          { label: 'Name', render: (c) => <a href={`/accounts/${accountId}/contacts/${c.id}`}>{[c.firstName, c.lastName].filter(Boolean).join(' ') || '(no name)'}</a> },
          { label: 'Email', render: (c) => c.email },
          { label: 'Phone', render: (c) => c.phone ?? '' },
          { label: 'Receives', render: (c) => c.emailTypes.join(', ') || 'nothing' },
        ]}
      />
      <Pager list={list} label="Contacts" />
    </>
  );
}

const blank = { email: '', firstName: '', lastName: '', phone: '' };

/** NewContact is the create form with Save & New: it stays open, and each saved contact is listed beside it. */
function NewContact({ ctx, emailTypes, onSaved, onClose }: { ctx: AccountCtx; emailTypes: Schemas['EmailType'][]; onSaved: () => void; onClose: () => void }) {
  const [form, setForm] = useState(blank);
  const [types, setTypes] = useState<string[]>([]);
  const [problem, setProblem] = useState<Problem>();
  const [saved, setSaved] = useState<Schemas['Contact'][]>([]);
  const [busy, setBusy] = useState(false);
  const emailRef = useRef<HTMLInputElement | null>(null);
  const errs = fieldErrors(problem);
  const set = (k: keyof typeof blank) => (v: string) => setForm({ ...form, [k]: v });
  const opt = (s: string) => (s.trim() ? s.trim() : undefined);

  const save = async (andNew: boolean) => {
    setBusy(true);
    const r = await call(
      api().POST('/accounts/{accountId}/contacts', {
        params: { path: { accountId: ctx.account.id }, header: { 'Idempotency-Key': newIdempotencyKey() } },
        body: { email: form.email.trim(), firstName: opt(form.firstName), lastName: opt(form.lastName), phone: opt(form.phone), emailTypes: types },
      }),
    );
    setBusy(false);
    if (r.error) return setProblem(r.error);
    setProblem(undefined);
    setSaved((s) => [r.data, ...s]);
    onSaved();
    if (andNew) {
      setForm(blank);
      emailRef.current?.focus();
    } else onClose();
  };

  return (
    <div class="split new-contact">
      <form class="card" noValidate aria-labelledby="new-contact" onSubmit={(e) => { e.preventDefault(); save(true); }}>
        <h2 id="new-contact">New contact</h2>
        {problem && problem.code !== 'validation_failed' ? (
          <Alert kind="error">
            {describe(problem)}
            {problem.contactId ? <> <a href={`/accounts/${ctx.account.id}/contacts/${problem.contactId}`}>Open the existing contact</a></> : null}
          </Alert>
        ) : null}
        <TextField label="Email" type="email" value={form.email} onInput={set('email')} required error={errs.email} inputRef={(el) => (emailRef.current = el)} />
        <TextField label="First name" value={form.firstName} onInput={set('firstName')} error={errs.firstName} />
        <TextField label="Last name" value={form.lastName} onInput={set('lastName')} error={errs.lastName} hint="A contact to be related to a site should have a first and last name." />
        <TextField label="Phone" type="tel" value={form.phone} onInput={set('phone')} error={errs.phone} />
        <Checks legend="Receives email" options={emailTypes.map((t) => ({ value: t.name }))} selected={types} onChange={setTypes} error={errs.emailTypes} />
        <div class="actions">
          <button type="submit" disabled={busy}>Save &amp; New</button>
          <button type="button" class="secondary" disabled={busy} onClick={() => save(false)}>Save</button>
          <button type="button" class="secondary" onClick={onClose}>Close</button>
        </div>
      </form>
      <div class="card" aria-live="polite">
        <h2>Saved just now</h2>
        {saved.length === 0 ? <p class="muted">Contacts you save appear here; the form stays open for the next one.</p> : null}
        <ul class="plain saved-list">
          {saved.map((c) => (
            <li key={c.id}>
              <span class="ok-mark" aria-hidden="true">✓</span> <a href={`/accounts/${ctx.account.id}/contacts/${c.id}`}>{contactName(c)}</a>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

interface PastedRow {
  email: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  result?: { ok: boolean; text: string; contactId?: string };
}

/** parseRows reads rows pasted from a spreadsheet: email, first name, last name, phone, by tabs (or commas). */
export function parseRows(text: string): PastedRow[] {
  const rows: PastedRow[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const cells = (line.includes('\t') ? line.split('\t') : line.split(',')).map((c) => c.trim());
    if (rows.length === 0 && !cells[0].includes('@') && /mail/i.test(cells[0])) continue; // a header row
    const [email, firstName, lastName, phone] = cells;
    rows.push({ email, firstName: firstName || undefined, lastName: lastName || undefined, phone: phone || undefined });
  }
  return rows;
}

function rowResult(res: Schemas['ContactBatchResults']['results'][number]): PastedRow['result'] {
  if (res.item) return { ok: true, text: 'Added', contactId: res.item.id };
  const p = res.error!;
  if (p.code === 'contact_email_taken') return { ok: false, text: 'Duplicate: a contact with this email already exists.', contactId: p.contactId };
  const fields = (p.errors ?? []).map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  return { ok: false, text: fields.length ? fields.join('; ') : describe(p) };
}

function PasteMany({ ctx, emailTypes, onSaved, onClose }: { ctx: AccountCtx; emailTypes: Schemas['EmailType'][]; onSaved: () => void; onClose: () => void }) {
  const [text, setText] = useState('');
  const [rows, setRows] = useState<PastedRow[]>([]);
  const [types, setTypes] = useState<string[]>([]);
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);

  const add = async () => {
    setBusy(true);
    setProblem(undefined);
    const out = rows.map((r) => ({ ...r, result: r.result?.ok ? r.result : undefined }));
    const todo = out.map((r, i) => ({ r, i })).filter(({ r }) => !r.result);
    for (let start = 0; start < todo.length; start += 100) {
      const chunk = todo.slice(start, start + 100);
      const resp = await call(
        api().POST('/accounts/{accountId}/contacts/batch', {
          params: { path: { accountId: ctx.account.id }, header: { 'Idempotency-Key': newIdempotencyKey() } },
          body: { items: chunk.map(({ r }) => ({ email: r.email, firstName: r.firstName, lastName: r.lastName, phone: r.phone, emailTypes: types })) },
        }),
      );
      if (resp.error) {
        setProblem(resp.error);
        break;
      }
      resp.data.results.forEach((res, k) => (out[chunk[k].i].result = rowResult(res)));
    }
    setRows(out);
    setBusy(false);
    onSaved();
  };

  const added = rows.filter((r) => r.result?.ok).length;
  const failed = rows.filter((r) => r.result && !r.result.ok).length;
  return (
    <div class="card paste">
      <h2>Paste many contacts</h2>
      <TextField
        label="Rows from a spreadsheet"
        multiline
        value={text}
        onInput={(v) => { setText(v); setRows(parseRows(v)); }}
        hint="One contact per line: email, first name, last name, phone, separated by tabs (as copied from a spreadsheet) or commas."
      />
      <Checks legend="These contacts receive" options={emailTypes.map((t) => ({ value: t.name }))} selected={types} onChange={setTypes} />
      {problem ? <Alert kind="error">{describe(problem)}</Alert> : null}
      {rows.length ? (
        <>
          {added || failed ? (
            <p role="status">
              {added} added, {failed} not added.
            </p>
          ) : null}
          <table class="data paste-rows">
            <caption class="visually-hidden">Pasted rows</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Phone</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={i} class={r.result ? (r.result.ok ? 'row-ok' : 'row-error') : undefined}>
                  <td data-label="#">{i + 1}</td>
                  <td data-label="Email">{r.email}</td>
                  <td data-label="Name">{[r.firstName, r.lastName].filter(Boolean).join(' ')}</td>
                  <td data-label="Phone">{r.phone ?? ''}</td>
                  <td data-label="Result" class="result">
                    {r.result ? (
                      <>
                        {r.result.ok ? '✓ ' : '✗ '}
                        {r.result.text}
                        {r.result.contactId ? <> <a href={`/accounts/${ctx.account.id}/contacts/${r.result.contactId}`}>{r.result.ok ? 'Open' : 'Open the existing contact'}</a></> : null}
                      </>
                    ) : (
                      'not added yet'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      <div class="actions">
        <button type="button" onClick={add} disabled={busy || rows.length === 0 || rows.every((r) => r.result?.ok)}>
          {(() => {
            const n = rows.filter((r) => !r.result?.ok).length;
            return `Add ${n} ${n === 1 ? 'contact' : 'contacts'}`;
          })()}
        </button>
        <button type="button" class="secondary" onClick={onClose}>Close</button>
      </div>
    </div>
  );
}
