/**
 * The shell: onboarding until an identity is unlocked, registration until it is on chain, then the portals its
 * roles open (patient records and sharing, provider, authority), switched by the URL hash.
 */
import type { Identity } from '@medbloc/core/portable';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { describeError, type FriendlyError } from './lib/errors.ts';
import { type Account, hasRole, openSession, type Session, SessionContext } from './lib/session.ts';
import { AuthorityPortal } from './portals/Authority.tsx';
import { EmergencyPage } from './portals/Emergency.tsx';
import { Onboarding } from './portals/Onboarding.tsx';
import { PatientPortal } from './portals/Patient.tsx';
import { PeoplePage } from './portals/People.tsx';
import { ProviderPortal } from './portals/Provider.tsx';
import { Register } from './portals/Register.tsx';
import { ResearchPortal } from './portals/Research.tsx';
import { SharingPage } from './portals/Sharing.tsx';
import { Addr, ErrorBox } from './ui/bits.tsx';

type Route = 'records' | 'sharing' | 'emergency' | 'people' | 'provider' | 'research' | 'authority';

const read = () => (location.hash.replace(/^#\/?/, '') || undefined) as Route | undefined;

function useHashRoute(): [Route | undefined, (r: Route) => void] {
  const [route, setRoute] = useState<Route | undefined>(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return [route, (r) => (location.hash = `/${r}`)];
}

export function App() {
  const [identity, setIdentity] = useState<Identity | undefined>();
  if (!identity) return <Onboarding onUnlocked={setIdentity} />;
  return <Unlocked identity={identity} onLock={() => setIdentity(undefined)} />;
}

function Unlocked({ identity, onLock }: { identity: Identity; onLock: () => void }) {
  const client = useMemo(() => openSession(identity), [identity]);
  const [account, setAccount] = useState<Account | null | undefined>(undefined);
  const [error, setError] = useState<FriendlyError | undefined>();
  const refreshAccount = useCallback(async () => {
    try {
      setAccount(await client.account());
      setError(undefined);
    } catch (err) {
      if ((err as { code?: string }).code === 'NOT_REGISTERED') setAccount(null);
      else setError(describeError(err));
    }
  }, [client]);
  useEffect(() => {
    void refreshAccount();
  }, [refreshAccount]);
  const session: Session = useMemo(
    () => ({ identity, client, account, refreshAccount, lock: onLock }),
    [identity, client, account, refreshAccount, onLock],
  );
  const [route, go] = useHashRoute();

  const tabs: { route: Route; label: string }[] = [];
  if (hasRole(account, 'patient'))
    tabs.push(
      { route: 'records', label: 'My records' },
      { route: 'sharing', label: 'Sharing & access log' },
      { route: 'emergency', label: 'Emergency' },
    );
  if (hasRole(account, 'provider')) tabs.push({ route: 'provider', label: 'Provider' });
  if (hasRole(account, 'researcher')) tabs.push({ route: 'research', label: 'Research' });
  if (account?.authority) tabs.push({ route: 'authority', label: 'Authority' });
  // Anyone registered may be a delegate or a recovery guardian; patients also appoint theirs there.
  if (account) tabs.push({ route: 'people', label: 'Delegates & recovery' });
  const current = tabs.find((t) => t.route === route)?.route ?? tabs[0]?.route;

  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">MedBloc</span>
        <nav aria-label="Portals">
          {tabs.map((t) => (
            <a
              key={t.route}
              href={`#/${t.route}`}
              aria-current={t.route === current ? 'page' : undefined}
              onClick={() => go(t.route)}
            >
              {t.label}
            </a>
          ))}
        </nav>
        <span className="me">
          <Addr value={identity.address} label="You:" />
          <button type="button" onClick={onLock}>
            Lock
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBox error={error} />
        {error && (
          <button type="button" onClick={() => void refreshAccount()}>
            Try again
          </button>
        )}
        {!error && account === undefined && <p role="status">Loading your account…</p>}
        {account === null && <Register />}
        {account && current === 'records' && <PatientPortal />}
        {account && current === 'sharing' && <SharingPage />}
        {account && current === 'emergency' && <EmergencyPage />}
        {account && current === 'people' && <PeoplePage />}
        {account && current === 'provider' && <ProviderPortal />}
        {account && current === 'research' && <ResearchPortal />}
        {account && current === 'authority' && <AuthorityPortal />}
        {account && !current && (
          <p>This account has no portal yet: it holds no patient, provider or authority role.</p>
        )}
      </main>
    </SessionContext.Provider>
  );
}
