// The frame of an account's screens: its name, the caller's role, and the tabs the role may use.
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { Schemas } from '../api/client';
import { can, rememberAccount, useAccount, useMembership, type Membership } from '../data';
import { describe } from '../errors';
import { Alert } from './forms';

export interface AccountCtx {
  account: Schemas['Account'];
  membership: Membership;
  reloadAccount: () => void;
  setAccount: (a: Schemas['Account']) => void;
}

export function AccountShell(p: { accountId: string; title: string; children: (ctx: AccountCtx) => ComponentChildren }) {
  const { path } = useLocation();
  const { account, error, reload, set } = useAccount(p.accountId);
  const { membership, error: mErr, loading } = useMembership(p.accountId);
  useEffect(() => rememberAccount(p.accountId), [p.accountId]);

  const problem = error ?? mErr;
  if (problem) {
    return (
      <section>
        <h1>{p.title}</h1>
        <Alert kind="error">{describe(problem)} <a href="/me">My accounts</a></Alert>
      </section>
    );
  }
  if (!account || loading) {
    return (
      <section>
        <h1>{p.title}</h1>
        <p role="status">Loading…</p>
      </section>
    );
  }
  const m: Membership = membership ?? { role: 'user', permissions: [], admin: false };
  const base = `/accounts/${p.accountId}`;
  const tabs = [
    { href: base, label: 'Account', show: true },
    { href: `${base}/users`, label: 'Users', show: m.role === 'owner' || m.role === 'operator' },
    { href: `${base}/contacts`, label: 'Contacts', show: can(m, 'contacts:read') },
    { href: `${base}/sites`, label: 'Sites', show: can(m, 'contacts:read') },
    { href: `${base}/audit`, label: 'Audit', show: can(m, 'audit:read') },
  ].filter((t) => t.show);
  const current = tabs.reduce((best, t) => (path === t.href || path.startsWith(`${t.href}/`)) && t.href.length > best.length ? t.href : best, '');
  return (
    <section>
      <p class="account-name">
        {account.name} <span class="badge">{account.type}</span>{' '}
        <span class="muted">
          you: {m.role === 'operator' ? 'operator' : m.role === 'owner' ? 'owner' : m.admin ? 'user (admin)' : 'user'}
        </span>
      </p>
      <nav class="tabs" aria-label="Account sections">
        {tabs.map((t) => (
          <a key={t.href} href={t.href} aria-current={t.href === current ? 'page' : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      <h1>{p.title}</h1>
      {p.children({ account, membership: m, reloadAccount: reload, setAccount: set })}
    </section>
  );
}
