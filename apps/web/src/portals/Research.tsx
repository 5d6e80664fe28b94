/**
 * The researcher portal: certification status, the grants patients made to this researcher for research, and the
 * records those grants open (each read signed for purpose research, logged in the patient's access log, verified
 * against the chain before it is shown). Searching opted-in data and data requests with rewards are not built yet:
 * the page says so instead of pretending.
 */
import { useCallback, useId, useState } from 'react';
import { formatDate } from '../fhir/read.ts';
import { useRecords } from '../lib/records.ts';
import { useSession } from '../lib/session.ts';
import { Addr, ErrorBox, Notice, useLoaded } from '../ui/bits.tsx';
import { Timeline } from '../ui/Timeline.tsx';
import { CertificationSection } from './Certification.tsx';

type Address = `0x${string}`;

function SharedRecords({ owner }: { owner: Address }) {
  const { client, identity } = useSession();
  const { items, error, reload } = useRecords(client, owner, 'research');
  return (
    <div className="shared-records">
      {error && (
        <Notice tone="warn">
          {error.title}: {error.detail}
        </Notice>
      )}
      <button type="button" onClick={() => void reload()}>
        Refresh
      </button>
      {items && <Timeline items={items} me={identity.address} />}
    </div>
  );
}

export function ResearchPortal() {
  const { client } = useSession();
  const id = useId();
  const {
    value: grants,
    error,
    reload: load,
  } = useLoaded(
    useCallback(
      async () => (await client.grants({ as: 'grantee' })).filter((g) => g.purpose === 'research'),
      [client],
    ),
  );
  const [open, setOpen] = useState<Address | undefined>();
  const live = (grants ?? []).filter((g) => g.live);
  const owners = [...new Set(live.map((g) => g.owner))];
  return (
    <div className="portal research">
      <h1>Research</h1>
      <CertificationSection
        certRole="researcher"
        testId="researcher-cert-status"
        notYet="Not certified as a researcher yet"
      />
      <section className="card" aria-labelledby={`${id}-h`}>
        <h2 id={`${id}-h`}>Shared with you for research</h2>
        <p className="muted">
          Patients who share records with you for research are listed here. Every read is signed by you,
          logged in the patient’s access log, and verified against the chain before it is shown.
        </p>
        <ErrorBox error={error} />
        <button type="button" onClick={() => void load()}>
          Check for new grants
        </button>
        {grants && owners.length === 0 && <p>No patient has shared records with you for research.</p>}
        <ul className="grants" aria-label="Patients who shared with you for research">
          {owners.map((o) => {
            const mine = live.filter((g) => g.owner === o);
            return (
              <li key={o}>
                <span>
                  <Addr value={o} /> shared {mine.length} {mine.length === 1 ? 'scope' : 'scopes'}
                  {mine.some((g) => g.expiresAt === 0)
                    ? ' until revoked'
                    : ` until ${formatDate(Math.max(...mine.map((g) => g.expiresAt)) * 1000)}`}
                </span>
                <button
                  type="button"
                  aria-pressed={open === o}
                  onClick={() => setOpen(open === o ? undefined : o)}
                >
                  {open === o ? 'Hide records' : 'Open records'}
                </button>
              </li>
            );
          })}
        </ul>
        {open && <SharedRecords key={open} owner={open} />}
      </section>
      <section className="card" aria-labelledby={`${id}-soon`}>
        <h2 id={`${id}-soon`}>Coming later: data requests and the data market</h2>
        <p>
          Not available yet. Later you will post a data request with criteria and a reward held in escrow;
          patients who opted in will match it on their own devices and answer by their own policy, and you
          will receive only consented, minimised data, with counts shown only above a privacy threshold. Today
          you can read what patients chose to share with you for research, nothing more.
        </p>
      </section>
    </div>
  );
}
