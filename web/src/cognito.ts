// Cognito managed login for deployed stages: authorization code with PKCE, a public client (no
// secret). The ID token is the bearer token: it carries the email the API records (R12).
import { getConfig } from './config';
import { signIn } from './auth';

const KEY = 'rollcall.pkce';

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function redirectUri(): string {
  return `${location.origin}/auth/callback`;
}

/** startLogin sends the browser to the managed login page; next is where to come back to. */
export async function startLogin(next: string): Promise<void> {
  const cfg = getConfig();
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(48)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(24)));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(KEY, JSON.stringify({ verifier, state, next }));
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.clientId ?? '',
    redirect_uri: redirectUri(),
    scope: 'openid email profile',
    code_challenge_method: 'S256',
    code_challenge: challenge,
    state,
  });
  location.assign(`${cfg.cognitoDomain}/oauth2/authorize?${q}`);
}

/** finishLogin trades the callback's code for tokens and returns where to go next. */
export async function finishLogin(query: Record<string, string>): Promise<string> {
  const saved = JSON.parse(sessionStorage.getItem(KEY) ?? '{}') as { verifier?: string; state?: string; next?: string };
  sessionStorage.removeItem(KEY);
  if (query.error) throw new Error(query.error_description || query.error);
  if (!saved.verifier || !query.code || query.state !== saved.state) throw new Error('The sign-in could not be completed (state mismatch): start again.');
  const cfg = getConfig();
  const resp = await fetch(`${cfg.cognitoDomain}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: cfg.clientId ?? '',
      code: query.code,
      redirect_uri: redirectUri(),
      code_verifier: saved.verifier,
    }),
  });
  if (!resp.ok) throw new Error(`The identity provider refused the sign-in (${resp.status}).`);
  const tokens = (await resp.json()) as { id_token: string };
  signIn(tokens.id_token);
  return saved.next ?? '/';
}
