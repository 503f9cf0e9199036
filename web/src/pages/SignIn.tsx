// Sign-in. Locally: the "sign in as" form, whose token the local stack's own endpoint mints (it
// exists in no deployed stage). Deployed: Cognito managed login.
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { signIn, useSession, wasExpired } from '../auth';
import { getConfig } from '../config';
import type { Problem } from '../api/client';
import { describe, fieldErrors } from '../errors';
import { Alert, TextField } from '../ui/forms';

/** safeNext keeps a return address on this origin. */
export function safeNext(next?: string): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function SignIn() {
  const { query, route } = useLocation();
  const session = useSession();
  const next = safeNext(query.next);
  const cfg = getConfig();
  const [sub, setSub] = useState('');
  const [email, setEmail] = useState('');
  const [operator, setOperator] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(problem);

  if (session) {
    return (
      <section>
        <h1>Signed in</h1>
        <p>
          You are signed in as <strong>{session.email ?? session.sub}</strong>. <a href={next}>Continue</a>
        </p>
      </section>
    );
  }

  if (cfg.signIn === 'cognito') {
    return (
      <section class="narrow">
        <h1>Sign in</h1>
        {wasExpired() ? <Alert kind="info">Your sign-in has expired: sign in again.</Alert> : null}
        <p>Sign in, or create your login if you were invited and have none yet.</p>
        <button type="button" onClick={() => import('../cognito').then((c) => c.startLogin(next))}>Sign in or sign up</button>
      </section>
    );
  }

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const resp = await fetch('/_local/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ sub: sub.trim(), email: email.trim(), operator }),
      });
      const body = await resp.json();
      if (!resp.ok) {
        setProblem(body as Problem);
        return;
      }
      signIn(body.token);
      route(next, true);
    } catch (err) {
      setProblem({ type: 'about:blank', title: 'Network error', status: 0, code: 'internal', detail: `The local stack could not be reached: ${err}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <h1>Sign in</h1>
      {wasExpired() ? <Alert kind="info">Your sign-in has expired: sign in again.</Alert> : null}
      <p class="muted">
        Local stack: sign in as any login. The token comes from the local stack's own endpoint, which no deployed stage has.
      </p>
      {problem && problem.code !== 'validation_failed' ? <Alert kind="error">{describe(problem)}</Alert> : null}
      <form onSubmit={submit} noValidate>
        <TextField label="Subject (login id)" name="sub" value={sub} onInput={setSub} required error={errs.sub} hint="For example ada. The same subject is the same login." autoComplete="username" />
        <TextField label="Email" name="email" type="email" value={email} onInput={setEmail} error={errs.email} hint="Defaults to <subject>@example.com." autoComplete="email" />
        <label class="check">
          <input type="checkbox" name="operator" checked={operator} onChange={(e) => setOperator((e.target as HTMLInputElement).checked)} />
          Operator (vendor support staff)
        </label>
        <div class="actions">
          <button type="submit" disabled={busy}>Sign in</button>
        </div>
      </form>
    </section>
  );
}

/** AuthCallback is where Cognito's managed login comes back with a code. */
export function AuthCallback() {
  const { query, route } = useLocation();
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    import('../cognito')
      .then((c) => c.finishLogin(query))
      .then((next) => route(safeNext(next), true))
      .catch((err) => setError(err instanceof Error ? err.message : String(err)));
  }, []);
  return (
    <section>
      <h1>Signing in…</h1>
      {error ? (
        <Alert kind="error">
          {error} <a href="/signin">Sign in again</a>
        </Alert>
      ) : (
        <p role="status">Completing sign-in.</p>
      )}
    </section>
  );
}
