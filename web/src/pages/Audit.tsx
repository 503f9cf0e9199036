// The account's audit log (R23), newest first, paged.
import { api, type Schemas } from '../api/client';
import { call } from '../errors';
import { when } from '../data';
import { AccountShell } from '../ui/AccountShell';
import { Pager, Table, usePaged } from '../ui/lists';

export function Audit({ accountId }: { accountId: string }) {
  const list = usePaged<Schemas['AuditEntry']>((cursor) => call(api().GET('/accounts/{accountId}/audit', { params: { path: { accountId }, query: { cursor, limit: 25 } } })), [accountId]);
  return (
    <AccountShell accountId={accountId} title="Audit log">
      {() => (
        <>
          <p class="muted">Every change to the account, newest first.</p>
          <Table
            caption="Audit entries"
            list={list}
            rows={list.items}
            rowKey={(e) => e.id}
            empty="No changes recorded."
            columns={[
              { label: 'When', render: (e) => <time dateTime={e.at}>{when(e.at)}</time> },
              { label: 'Who', render: (e) => (e.actor.email ?? e.actor.sub) + (e.actor.operator ? ' (operator)' : '') },
              { label: 'What', render: (e) => <code>{e.operation}</code> },
              { label: 'Items', render: (e) => Object.entries(e.targets).map(([k, v]) => `${k} ${v}`).join(', ') },
              {
                label: 'Changes',
                class: 'changes',
                render: (e) =>
                  e.changes && Object.keys(e.changes).length ? (
                    <ul class="plain">
                      {Object.entries(e.changes as Record<string, unknown>).map(([k, v]) => (
                        <li key={k}>
                          {k}: {typeof v === 'string' ? v : JSON.stringify(v)}
                        </li>
                      ))}
                    </ul>
                  ) : null,
              },
            ]}
          />
          <Pager list={list} label="Audit log" />
        </>
      )}
    </AccountShell>
  );
}
