// GET /me/accounts: the accounts of the signed-in login, with its role in each.
import { api, type Schemas } from '../api/client';
import { useSession } from '../auth';
import { call } from '../errors';
import { lastAccount, rememberAccount } from '../data';
import { Pager, Table, usePaged } from '../ui/lists';

export function MyAccounts() {
  const session = useSession();
  const list = usePaged<Schemas['MyAccount']>((cursor) => call(api().GET('/me/accounts', { params: { query: { cursor, limit: 20 } } })), []);
  const current = lastAccount();
  return (
    <section>
      <h1>My accounts</h1>
      {session?.operator ? (
        <p>
          You are an operator: <a href="/accounts">all accounts</a> are open to you.
        </p>
      ) : null}
      <Table
        caption="Accounts you belong to"
        list={list}
        rows={list.items}
        rowKey={(r) => r.account.id}
        empty="You do not belong to any account yet. Open the link in your invitation email to join one."
        columns={[
          {
            label: 'Account',
            render: (r) => (
              <a href={`/accounts/${r.account.id}`} onClick={() => rememberAccount(r.account.id)}>
                {r.account.name}
              </a>
            ),
          },
          { label: 'Type', render: (r) => r.account.type },
          { label: 'Your role', render: (r) => (r.role === 'owner' ? 'Owner' : r.admin ? 'User (admin)' : 'User') },
          { label: 'Permissions', render: (r) => (r.role === 'owner' ? 'all' : r.permissions.join(', ') || 'none') },
          { label: '', render: (r) => (r.account.id === current ? <span class="badge">current</span> : null) },
        ]}
      />
      <Pager list={list} label="Accounts" />
    </section>
  );
}
