import type { ComponentType } from 'preact';
import { useEffect } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { signOut, useSession } from './auth';
import { lastAccount } from './data';
import { SignIn, AuthCallback } from './pages/SignIn';
import { Accept } from './pages/Accept';
import { MyAccounts } from './pages/MyAccounts';
import { AccountPage } from './pages/Account';
import { Users } from './pages/Users';
import { Contacts } from './pages/Contacts';
import { ContactEdit } from './pages/ContactEdit';
import { Sites } from './pages/Sites';
import { SiteDetail } from './pages/SiteDetail';
import { Audit } from './pages/Audit';
import { OperatorAccounts } from './pages/OperatorAccounts';

export function App() {
  return (
    <LocationProvider>
      <a class="skip" href="#main">Skip to content</a>
      <Header />
      <main id="main" tabIndex={-1}>
        <Router onRouteChange={focusMain}>
          <Route path="/" component={Home} />
          <Route path="/signin" component={SignIn} />
          <Route path="/auth/callback" component={AuthCallback} />
          <Route path="/invitations/accept" component={Accept} />
          <Route path="/me" component={guard(MyAccounts)} />
          <Route path="/accounts" component={guard(OperatorAccounts)} />
          <Route path="/accounts/:accountId" component={guard(AccountPage)} />
          <Route path="/accounts/:accountId/users" component={guard(Users)} />
          <Route path="/accounts/:accountId/contacts" component={guard(Contacts)} />
          <Route path="/accounts/:accountId/contacts/:contactId" component={guard(ContactEdit)} />
          <Route path="/accounts/:accountId/sites" component={guard(Sites)} />
          <Route path="/accounts/:accountId/sites/:siteId" component={guard(SiteDetail)} />
          <Route path="/accounts/:accountId/audit" component={guard(Audit)} />
          <Route default component={NotFound} />
        </Router>
      </main>
    </LocationProvider>
  );
}

/** focusMain moves focus to the new page's content, so keyboard and screen reader users follow. */
function focusMain() {
  requestAnimationFrame(() => {
    const h1 = document.querySelector<HTMLElement>('main h1');
    if (h1) {
      h1.tabIndex = -1;
      h1.focus({ preventScroll: false });
    }
  });
}

function Header() {
  const session = useSession();
  const { path } = useLocation();
  return (
    <header class="top">
      <a class="brand" href={session ? '/me' : '/'}>rollcall</a>
      {session ? (
        <nav aria-label="Main">
          <a href="/me" aria-current={path === '/me' ? 'page' : undefined}>My accounts</a>
          {session.operator ? (
            <a href="/accounts" aria-current={path === '/accounts' ? 'page' : undefined}>All accounts</a>
          ) : null}
          <span class="who">
            {session.email ?? session.sub}
            {session.operator ? ' (operator)' : ''}
          </span>
          <button type="button" class="link" onClick={() => signOut()}>Sign out</button>
        </nav>
      ) : null}
    </header>
  );
}

/** guard shows the sign-in page, then comes back, when nobody is signed in. */
function guard<P extends object>(Page: ComponentType<P>) {
  return function Guarded(props: P) {
    const session = useSession();
    const { url, route } = useLocation();
    useEffect(() => {
      if (!session) route(`/signin?next=${encodeURIComponent(url)}`, true);
    }, [session]);
    return session ? <Page {...props} /> : null;
  };
}

function Home() {
  const session = useSession();
  const { route } = useLocation();
  useEffect(() => {
    if (!session) route('/signin', true);
    else {
      const last = lastAccount();
      route(last ? `/accounts/${last}` : '/me', true);
    }
  }, [session]);
  return null;
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. Go to <a href="/me">your accounts</a>.
      </p>
    </section>
  );
}
