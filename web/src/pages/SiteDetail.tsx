// A site's related contacts with their roles (R21): add, change roles, remove.
import { useEffect, useState } from 'preact/hooks';
import { api, type Problem, type Schemas } from '../api/client';
import { call, describe, fieldErrors } from '../errors';
import { can, contactName, useCatalog } from '../data';
import { AccountShell, type AccountCtx } from '../ui/AccountShell';
import { useConfirm } from '../ui/confirm';
import { Alert, Checks, Select, TextField } from '../ui/forms';
import { Pager, Table, usePaged } from '../ui/lists';

export function SiteDetail({ accountId, siteId }: { accountId: string; siteId: string }) {
  return <AccountShell accountId={accountId} title="Site">{(ctx) => <SiteBody ctx={ctx} siteId={siteId} />}</AccountShell>;
}

type Row = Schemas['Relationship'] & { contact?: Schemas['Contact'] };

async function getContact(accountId: string, contactId: string) {
  return call(api().GET('/accounts/{accountId}/contacts/{contactId}', { params: { path: { accountId, contactId } } }));
}

/** roleProblemWords says who holds a taken role, by name (R21). */
async function roleProblemWords(accountId: string, p: Problem): Promise<string> {
  if (p.code !== 'role_taken' || !p.contactId) return describe(p);
  const holder = await getContact(accountId, p.contactId);
  const who = holder.data ? contactName(holder.data) : 'another contact';
  return `${p.role ?? 'This role'} is already held on this site by ${who}. Only one contact per site can hold it: change ${holder.data?.firstName ?? 'their'}${holder.data?.firstName ? "'s" : ''} roles first.`;
}

function SiteBody({ ctx, siteId }: { ctx: AccountCtx; siteId: string }) {
  const accountId = ctx.account.id;
  const catalog = useCatalog();
  const { dialog, confirm } = useConfirm();
  const [site, setSite] = useState<Schemas['Site']>();
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const [editing, setEditing] = useState<string>();
  const writer = can(ctx.membership, 'sites:write');
  const list = usePaged<Row>(async (cursor) => {
    const r = await call(api().GET('/accounts/{accountId}/sites/{siteId}/contacts', { params: { path: { accountId, siteId }, query: { cursor, limit: 20 } } }));
    if (r.error) return r;
    const rows = await Promise.all(r.data.items.map(async (rel) => ({ ...rel, contact: (await getContact(accountId, rel.contactId!)).data })));
    return { data: { items: rows, nextCursor: r.data.nextCursor } };
  }, [accountId, siteId]);

  useEffect(() => {
    call(api().GET('/accounts/{accountId}/sites', { params: { path: { accountId }, query: { limit: 100 } } })).then((r) => r.data && setSite(r.data.items.find((s) => s.id === siteId)));
  }, [accountId, siteId]);

  const roleOptions = (catalog?.roles ?? []).map((r) => ({ value: r.name, note: r.uniquePerSite ? 'one per site' : undefined }));
  const remove = async (row: Row) => {
    const name = row.contact ? contactName(row.contact) : row.contactId!;
    if (!(await confirm(`Remove ${name} from this site?`, `${name} loses all roles on ${site?.name ?? 'this site'}.`, 'Remove from site'))) return;
    const r = await call(api().DELETE('/accounts/{accountId}/sites/{siteId}/contacts/{contactId}', { params: { path: { accountId, siteId, contactId: row.contactId! } } }));
    setMessage(r.error ? { kind: 'error', text: describe(r.error) } : { kind: 'ok', text: `${name} was removed from the site.` });
    list.reload();
  };

  return (
    <>
      {dialog}
      <p class="lead">{site ? <>{site.name}{site.main ? ' (main site)' : ''}</> : null}</p>
      <p>
        <a href={`/accounts/${accountId}/sites`}>All sites</a>
      </p>
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
      <div class="split">
        <div>
          <h2>Related contacts</h2>
          <Table
            caption="Contacts related to the site"
            list={list}
            rows={list.items}
            rowKey={(r) => r.contactId!}
            empty="No contact is related to this site yet."
            columns={[
              { label: 'Contact', render: (r) => (r.contact ? <a href={`/accounts/${accountId}/contacts/${r.contactId}`}>{contactName(r.contact)}</a> : r.contactId) },
              {
                label: 'Roles',
                render: (r) =>
                  editing === r.contactId ? (
                    <EditRoles
                      accountId={accountId}
                      siteId={siteId}
                      row={r}
                      options={roleOptions}
                      onDone={(ok) => {
                        setEditing(undefined);
                        if (ok) {
                          setMessage({ kind: 'ok', text: 'The roles were saved.' });
                          list.reload();
                        }
                      }}
                    />
                  ) : (
                    r.roles.join(', ')
                  ),
              },
              {
                label: 'Actions',
                class: 'row-actions',
                render: (r) =>
                  writer ? (
                    <>
                      {editing !== r.contactId ? (
                        <button type="button" class="secondary" onClick={() => setEditing(r.contactId)} aria-label={`Change roles of ${r.contact?.email ?? r.contactId}`}>
                          Change roles
                        </button>
                      ) : null}
                      <button type="button" class="danger" onClick={() => remove(r)} aria-label={`Remove ${r.contact?.email ?? r.contactId} from the site`}>
                        Remove
                      </button>
                    </>
                  ) : null,
              },
            ]}
          />
          <Pager list={list} label="Related contacts" />
        </div>
        {writer ? <AddRelationship accountId={accountId} siteId={siteId} options={roleOptions} onAdded={(text) => { setMessage({ kind: 'ok', text }); list.reload(); }} /> : null}
      </div>
    </>
  );
}

function EditRoles({ accountId, siteId, row, options, onDone }: { accountId: string; siteId: string; row: Row; options: { value: string; note?: string }[]; onDone: (ok: boolean) => void }) {
  const [roles, setRoles] = useState(row.roles);
  const [error, setError] = useState<string>();
  const save = async (e: Event) => {
    e.preventDefault();
    const r = await call(api().PUT('/accounts/{accountId}/sites/{siteId}/contacts/{contactId}', { params: { path: { accountId, siteId, contactId: row.contactId! } }, body: { roles } }));
    if (r.error) setError(fieldErrors(r.error).roles ?? (await roleProblemWords(accountId, r.error)));
    else onDone(true);
  };
  return (
    <form onSubmit={save} class="compact">
      <Checks legend={`Roles of ${row.contact?.email ?? row.contactId}`} options={options} selected={roles} onChange={setRoles} error={error} />
      <div class="actions">
        <button type="submit">Save roles</button>
        <button type="button" class="secondary" onClick={() => onDone(false)}>Cancel</button>
      </div>
    </form>
  );
}

function AddRelationship({ accountId, siteId, options, onAdded }: { accountId: string; siteId: string; options: { value: string; note?: string }[]; onAdded: (text: string) => void }) {
  const [q, setQ] = useState('');
  const [matches, setMatches] = useState<Schemas['Contact'][]>([]);
  const [contactId, setContactId] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [errors, setErrors] = useState<{ contact?: string; roles?: string; general?: string }>({});

  useEffect(() => {
    let live = true; // an answer to an older search is dropped
    const t = setTimeout(() => {
      call(api().GET('/accounts/{accountId}/contacts', { params: { path: { accountId }, query: { q: q.trim() || undefined, limit: 20 } } })).then((r) => {
        if (!live || !r.data) return;
        setMatches(r.data.items);
        setContactId((id) => (r.data.items.some((c) => c.id === id) ? id : r.data.items[0]?.id ?? ''));
      });
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [q]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!contactId) return setErrors({ contact: 'Choose a contact: search by name or email.' });
    const r = await call(api().PUT('/accounts/{accountId}/sites/{siteId}/contacts/{contactId}', { params: { path: { accountId, siteId, contactId } }, body: { roles } }));
    if (r.error) {
      const f = fieldErrors(r.error);
      return setErrors({ roles: f.roles, general: f.roles ? undefined : await roleProblemWords(accountId, r.error) });
    }
    setErrors({});
    const c = matches.find((m) => m.id === contactId);
    setRoles([]);
    onAdded(`${c ? contactName(c) : 'The contact'} now holds ${r.data.roles.join(', ')} on this site.`);
  };

  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="add-rel">
      <h2 id="add-rel">Relate a contact</h2>
      {errors.general ? <Alert kind="error">{errors.general}</Alert> : null}
      <TextField label="Find a contact" type="search" value={q} onInput={setQ} hint="Name or email contains…" />
      <Select
        label="Contact"
        value={contactId}
        onChange={setContactId}
        error={errors.contact}
        options={matches.length ? matches.map((c) => ({ value: c.id, label: contactName(c) })) : [{ value: '', label: 'no contact matches' }]}
      />
      <Checks legend="Roles" options={options} selected={roles} onChange={setRoles} error={errors.roles} hint="At least one." />
      <div class="actions">
        <button type="submit">Save relationship</button>
      </div>
    </form>
  );
}
