/** The patient portal: timeline of verified records, vitals trends, adding records, storage used. */
import { useEffect, useState } from 'react';
import { useRecords } from '../lib/records.ts';
import { useSession } from '../lib/session.ts';
import { bytes, ErrorBox } from '../ui/bits.tsx';
import { Timeline } from '../ui/Timeline.tsx';
import { UploadFhir, UploadFile } from '../ui/Upload.tsx';
import { VitalsCharts } from '../ui/VitalsChart.tsx';

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
          {items && <Timeline items={items} me={identity.address} />}
        </div>
        <aside className="side-col">
          {items && <VitalsCharts items={items} />}
          <Storage version={version} />
        </aside>
      </div>
    </div>
  );
}
