// One contact: edit its details and email preferences, see its sites, delete it.
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, etag, type Problem, type Schemas } from '../api/client';
import { call, describe, fieldErrors } from '../errors';
import { can, contactName, useCatalog } from '../data';
import { AccountShell, type AccountCtx } from '../ui/AccountShell';
import { useConfirm } from '../ui/confirm';
import { Alert, Checks, TextField } from '../ui/forms';

export function ContactEdit({ accountId, contactId }: { accountId: string; contactId: string }) {
  return <AccountShell accountId={accountId} title="Contact">{(ctx) => <ContactBody ctx={ctx} contactId={contactId} />}</AccountShell>;
}

function ContactBody({ ctx, contactId }: { ctx: AccountCtx; contactId: string }) {
  const accountId = ctx.account.id;
  const { route } = useLocation();
  const catalog = useCatalog();
  const { dialog, confirm } = useConfirm();
  const [contact, setContact] = useState<Schemas['Contact']>();
  const [sites, setSites] = useState<Record<string, string>>({});
  const [form, setForm] = useState({ email: '', firstName: '', lastName: '', phone: '' });
  const [types, setTypes] = useState<string[]>([]);
  const [problem, setProblem] = useState<Problem>();
  const [saved, setSaved] = useState(false);
  const [tick, setTick] = useState(0);
  const writer = can(ctx.membership, 'contacts:write');
  const errs = fieldErrors(problem);

  useEffect(() => {
    call(api().GET('/accounts/{accountId}/contacts/{contactId}', { params: { path: { accountId, contactId } } })).then((r) => {
      if (r.error) return setProblem(r.error);
      setContact(r.data);
      setForm({ email: r.data.email, firstName: r.data.firstName ?? '', lastName: r.data.lastName ?? '', phone: r.data.phone ?? '' });
      setTypes(r.data.emailTypes);
    });
    call(api().GET('/accounts/{accountId}/sites', { params: { path: { accountId }, query: { limit: 100 } } })).then((r) => {
      if (r.data) setSites(Object.fromEntries(r.data.items.map((s) => [s.id, s.name])));
    });
  }, [accountId, contactId, tick]);

  if (!contact) return problem ? <Alert kind="error">{describe(problem)}</Alert> : <p role="status">Loading…</p>;

  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const orNull = (s: string) => (s.trim() ? s.trim() : null);
  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(false);
    const r = await call(
      api().PATCH('/accounts/{accountId}/contacts/{contactId}', {
        params: { path: { accountId, contactId }, header: { 'If-Match': etag(contact.version) } },
        body: { email: form.email.trim(), firstName: orNull(form.firstName), lastName: orNull(form.lastName), phone: orNull(form.phone), emailTypes: types },
      }),
    );
    if (r.error) return setProblem(r.error);
    setProblem(undefined);
    setContact({ ...r.data, relationships: contact.relationships });
    setSaved(true);
  };
  const remove = async () => {
    if (!(await confirm(`Delete ${contactName(contact)}?`, 'The contact and its site relationships are deleted. This cannot be undone.', 'Delete contact'))) return;
    const r = await call(api().DELETE('/accounts/{accountId}/contacts/{contactId}', { params: { path: { accountId, contactId } } }));
    if (r.error) return setProblem(r.error);
    route(`/accounts/${accountId}/contacts`);
  };

  return (
    <div class="split">
      {dialog}
      <form class="card" onSubmit={save} noValidate aria-labelledby="contact-title">
        <h2 id="contact-title">{contactName(contact)}</h2>
        {saved ? <Alert kind="ok">Saved.</Alert> : null}
        {problem && problem.code !== 'validation_failed' && problem.code !== 'last_recipient' ? (
          <Alert kind="error">
            {describe(problem)}
            {problem.code === 'precondition_failed' ? <> <button type="button" class="link" onClick={() => { setProblem(undefined); setTick((t) => t + 1); }}>Reload</button></> : null}
          </Alert>
        ) : null}
        <fieldset disabled={!writer}>
          <legend class="visually-hidden">Details</legend>
          <TextField label="Email" type="email" value={form.email} onInput={set('email')} required error={errs.email} />
          <TextField label="First name" value={form.firstName} onInput={set('firstName')} error={errs.firstName} />
          <TextField label="Last name" value={form.lastName} onInput={set('lastName')} error={errs.lastName} />
          <TextField label="Phone" type="tel" value={form.phone} onInput={set('phone')} error={errs.phone} />
          <Checks
            legend="Receives email"
            options={(catalog?.emailTypes ?? []).map((t) => ({ value: t.name, note: t.required ? 'required' : undefined }))}
            selected={types}
            onChange={setTypes}
            error={errs.emailTypes ?? (problem?.code === 'last_recipient' ? describe(problem) : undefined)}
          />
        </fieldset>
        {writer ? (
          <div class="actions">
            <button type="submit">Save</button>
            <button type="button" class="danger" onClick={remove}>Delete contact</button>
          </div>
        ) : null}
      </form>
      <div class="card">
        <h2>Sites</h2>
        {contact.relationships?.length ? (
          <ul class="plain">
            {contact.relationships.map((r) => (
              <li key={r.siteId}>
                <a href={`/accounts/${accountId}/sites/${r.siteId}`}>{sites[r.siteId] ?? r.siteId}</a>: {r.roles.join(', ')}
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">Not related to any site.</p>
        )}
        {contact.userId ? <p class="muted">This contact has a login (user {contact.userId}).</p> : null}
      </div>
    </div>
  );
}
