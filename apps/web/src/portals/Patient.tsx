/** The patient portal: timeline of verified records, vitals and lab trends, adding records, storage used. */
import { useEffect, useState } from 'react';
import { useRecords } from '../lib/records.ts';
import { useSession } from '../lib/session.ts';
import { Addr, bytes, ErrorBox } from '../ui/bits.tsx';
import { Timeline } from '../ui/Timeline.tsx';
import { UploadFhir, UploadFile } from '../ui/Upload.tsx';
import { LabCharts, VitalsCharts } from '../ui/VitalsChart.tsx';

function Storage({ version }: { version: number }) {
  const { client } = useSession();
  const [usage, setUsage] = useState<{ used: number; quota: number } | undefined>();
  useEffect(() => {
    void version;
    client.usage().then(setUsage, () => setUsage(undefined));
  }, [client, version]);
  if (!usage) return null;
  const pct = usage.quota ? Math.min(100, (usage.used / usage.quota) * 100) : 0;
  return (
    <section className="card storage" aria-labelledby="storage-h">
      <h2 id="storage-h">Storage</h2>
      <meter min={0} max={usage.quota} value={usage.used} aria-labelledby="storage-h" />
      <p>
        {bytes(usage.used)} of {bytes(usage.quota)} used ({pct.toFixed(pct < 1 ? 2 : 0)}%)
      </p>
    </section>
  );
}

type Notice = Awaited<
  ReturnType<ReturnType<typeof useSession>['client']['notifications']>
>['notifications'][number];

const SAY: Record<Notice['kind'], string> = {
  'break-glass': 'opened your emergency profile (break-glass)',
  'record-added': 'added a record for you',
  'new-accessor': 'read your data for the first time',
};

/** Break-glass openings, records others added, first reads by new parties — newest first. */
function Notifications({ version }: { version: number }) {
  const { client } = useSession();
  const [list, setList] = useState<Notice[] | undefined>();
  useEffect(() => {
    void version;
    client.notifications().then(
      (r) => setList(r.notifications),
      () => setList(undefined),
    );
  }, [client, version]);
  if (!list) return null;
  return (
    <section className="card notifications" aria-labelledby="notif-h">
      <h2 id="notif-h">Notifications</h2>
      {list.length === 0 && <p className="muted">Nothing new.</p>}
      <ul>
        {list.slice(0, 20).map((n) => (
          <li
            key={`${n.kind}:${n.subject}:${n.time}`}
            className={n.kind === 'break-glass' ? 'bad-text' : undefined}
          >
            <time dateTime={new Date(n.time * 1000).toISOString()}>
              {new Date(n.time * 1000).toLocaleString()}
            </time>{' '}
            <Addr value={n.actor} /> {SAY[n.kind]}
            {n.outcome === 'denied' ? ' — refused' : ''}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function PatientPortal() {
  const { client, identity } = useSession();
  const { items, error, loading, reload } = useRecords(client);
  const [version, setVersion] = useState(0);
  const [adding, setAdding] = useState<'fhir' | 'file' | undefined>();
  const refresh = () => {
    setVersion((v) => v + 1);
    void reload();
  };
  return (
    <div className="portal patient">
      <div className="portal-head">
        <h1>My records</h1>
        <div className="actions">
          <button
            type="button"
            onClick={() => setAdding(adding === 'fhir' ? undefined : 'fhir')}
            aria-expanded={adding === 'fhir'}
          >
            Add FHIR data
          </button>
          <button
            type="button"
            onClick={() => setAdding(adding === 'file' ? undefined : 'file')}
            aria-expanded={adding === 'file'}
          >
            Upload a file
          </button>
          <button type="button" onClick={refresh} disabled={loading}>
            {loading ? 'Refreshing…' : 'Refresh'}
          </button>
        </div>
      </div>
      {adding && (
        <section className="card" aria-label={adding === 'fhir' ? 'Add FHIR data' : 'Upload a file'}>
          {adding === 'fhir' ? (
            <UploadFhir client={client} onDone={refresh} />
          ) : (
            <UploadFile client={client} onDone={refresh} />
          )}
        </section>
      )}
      <ErrorBox error={error} />
      <div className="columns">
        <div className="main-col">
          {items === undefined && !error && <p role="status">Loading your records…</p>}
          {items && <Timeline items={items} me={identity.address} editable onChanged={refresh} />}
        </div>
        <aside className="side-col">
          {items && <VitalsCharts items={items} />}
          {items && <LabCharts items={items} />}
          <Notifications version={version} />
          <Storage version={version} />
        </aside>
      </div>
    </div>
  );
}
