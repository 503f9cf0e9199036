// The signed-in person: a bearer token and what its claims say. Kept in sessionStorage, so a
// tab's sign-in ends with the tab.
import { useEffect, useState } from 'preact/hooks';
import { getConfig } from './config';

export interface Session {
  token: string;
  sub: string;
  email?: string;
  operator: boolean;
  /** Expiry, epoch seconds. */
  exp: number;
}

const KEY = 'rollcall.session';
const listeners = new Set<() => void>();
let expiredNotice = false;

function decodeClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

/** sessionFromToken reads a token's claims: subject, email, operator group, expiry. */
export function sessionFromToken(token: string): Session {
  const c = decodeClaims(token);
  const groups = c['cognito:groups'];
  const group = getConfig().operatorGroup ?? 'operators';
  const inGroup = Array.isArray(groups) ? groups.includes(group) : typeof groups === 'string' && groups.split(/[ ,]/).includes(group);
  return {
    token,
    sub: String(c.sub ?? ''),
    email: typeof c.email === 'string' ? c.email : undefined,
    operator: inGroup,
    exp: Number(c.exp ?? 0),
  };
}

export function getSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    if (s.exp && s.exp * 1000 < Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export function currentToken(): string | undefined {
  return getSession()?.token;
}

export function signIn(token: string): Session {
  const s = sessionFromToken(token);
  sessionStorage.setItem(KEY, JSON.stringify(s));
  expiredNotice = false;
  listeners.forEach((l) => l());
  return s;
}

/** signOut forgets the token; expired says it was refused, so the sign-in page can say why. */
export function signOut(expired = false): void {
  if (!sessionStorage.getItem(KEY)) return;
  sessionStorage.removeItem(KEY);
  expiredNotice = expired;
  listeners.forEach((l) => l());
}

/** wasExpired reports whether the last sign-out happened because the API refused the token. */
export function wasExpired(): boolean {
  return expiredNotice;
}

/** useSession re-renders its component when the person signs in or out. */
export function useSession(): Session | null {
  const [s, set] = useState(getSession);
  useEffect(() => {
    const l = () => set(getSession());
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return s;
}
