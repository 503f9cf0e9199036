// Data several screens share: the catalog, the caller's membership of an account, the account.
import { useEffect, useState } from 'preact/hooks';
import { api, type Problem, type Schemas } from './api/client';
import { call, type Result } from './errors';
import { useSession } from './auth';

let catalog: Promise<Result<Schemas['Catalog']>> | undefined;

/** useCatalog loads GET /catalog once per page load. */
export function useCatalog(): Schemas['Catalog'] | undefined {
  const [c, set] = useState<Schemas['Catalog']>();
  useEffect(() => {
    catalog ??= call(api().GET('/catalog'));
    catalog.then((r) => {
      if (r.data) set(r.data);
      else catalog = undefined; // try again next time
    });
  }, []);
  return c;
}

export interface Membership {
  /** 'operator' for operators (everything in every account). */
  role: 'owner' | 'user' | 'operator';
  permissions: string[];
  admin: boolean;
}

/** can reports whether a membership allows a built-in permission (owners, operators and admins for contacts and sites). */
export function can(m: Membership | undefined, permission: string): boolean {
  if (!m) return false;
  if (m.role === 'owner' || m.role === 'operator') return true;
  if (m.admin && ['contacts:read', 'contacts:write', 'sites:write'].includes(permission)) return true;
  return m.permissions.includes(permission);
}

/** useMembership finds the caller's role in accountId from GET /me/accounts (operators: operator). */
export function useMembership(accountId: string): { membership?: Membership; error?: Problem; loading: boolean } {
  const session = useSession();
  const [state, set] = useState<{ membership?: Membership; error?: Problem; loading: boolean }>({ loading: true });
  useEffect(() => {
    let stop = false;
    (async () => {
      if (session?.operator) return set({ membership: { role: 'operator', permissions: [], admin: false }, loading: false });
      let cursor: string | undefined;
      for (;;) {
        const r = await call(api().GET('/me/accounts', { params: { query: { limit: 100, cursor } } }));
        if (stop) return;
        if (r.error) return set({ error: r.error, loading: false });
        const mine = r.data.items.find((i) => i.account.id === accountId);
        if (mine) return set({ membership: { role: mine.role, permissions: mine.permissions, admin: mine.admin }, loading: false });
        if (!r.data.nextCursor) return set({ loading: false });
        cursor = r.data.nextCursor;
      }
    })();
    return () => void (stop = true);
  }, [accountId, session?.sub]);
  return state;
}

/** useAccount loads GET /accounts/{id}; reload() loads it again. */
export function useAccount(accountId: string) {
  const [state, set] = useState<{ account?: Schemas['Account']; error?: Problem }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    call(api().GET('/accounts/{accountId}', { params: { path: { accountId } } })).then((r) => set(r.error ? { error: r.error } : { account: r.data }));
  }, [accountId, tick]);
  return { ...state, reload: () => setTick((t) => t + 1), set: (account: Schemas['Account']) => set({ account }) };
}

/** contactName is how a contact is named on screen: its name, else its email. */
export function contactName(c: { firstName?: string; lastName?: string; email: string }): string {
  const n = [c.firstName, c.lastName].filter(Boolean).join(' ');
  return n ? `${n} (${c.email})` : c.email;
}

export function when(iso?: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const lastAccountKey = 'rollcall.lastAccount';
export function rememberAccount(id: string) {
  localStorage.setItem(lastAccountKey, id);
}
export function lastAccount(): string | null {
  return localStorage.getItem(lastAccountKey);
}
