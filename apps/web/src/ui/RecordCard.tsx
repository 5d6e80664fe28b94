/**
 * One record: what it is, who created it, whether it verifies against the chain, its versions — and its content only
 * once it has verified. A record that fails verification shows why, never its data.
 */
import { useState } from 'react';
import { ResourceView } from '../fhir/Resource.tsx';
import { formatDate, typeLabel } from '../fhir/read.ts';
import { categoryOf, dateOf, type RecordItem, titleOfItem } from '../lib/records.ts';
import { Addr, bytes, ErrorBox } from './bits.tsx';
import { EditVersion } from './EditVersion.tsx';

export function anchorId(recordId: string) {
  return `rec-${recordId.slice(2, 14)}`;
}

function Status({ item }: { item: RecordItem }) {
  const s = item.state;
  switch (s.status) {
    case 'pending':
      return <span className="badge pending">Verifying…</span>;
    case 'verified':
      return (
        <span className="badge ok" title={`Checks passed: ${s.verification.checks.join(', ')}`}>
          ✓ Verified on chain
        </span>
      );
    case 'tampered':
      return <span className="badge bad">✗ Failed verification</span>;
    case 'nokey':
      return <span className="badge muted">No key to open</span>;
    case 'error':
      return <span className="badge warn">Not checked</span>;
  }
}

function download(item: RecordItem) {
  if (item.state.status !== 'verified' || !item.state.bytes) return;
  const meta = item.state.meta ?? item.record.meta;
  const blob = new Blob([item.state.bytes as BlobPart], {
    type: meta?.contentType ?? 'application/octet-stream',
  });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = meta?.name ?? `${item.record.recordId}.bin`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const anchoredOn = (r: RecordItem['record']) => (r.anchoredAt < 1e12 ? r.anchoredAt * 1000 : r.anchoredAt);

/** Earlier versions of a record, newest first; each shows its content once it has verified. */
function History({ history, me }: { history: RecordItem[]; me?: string }) {
  return (
    <details className="versions">
      <summary>
        History: {history.length} earlier {history.length === 1 ? 'version' : 'versions'}
      </summary>
      <ol className="version-list">
        {history.map((h, n) => (
          <li
            key={h.record.recordId}
            id={anchorId(h.record.recordId)}
            className={`version status-${h.state.status}`}
            data-record-id={h.record.recordId}
            data-status={h.state.status}
            tabIndex={-1}
          >
            <p className="meta">
              <strong>Version {history.length - n}</strong> · anchored {formatDate(anchoredOn(h.record))} by{' '}
              {me && h.record.creator.toLowerCase() === me.toLowerCase() ? (
                'you'
              ) : (
                <Addr value={h.record.creator} />
              )}{' '}
              · <Status item={h} />
            </p>
            {h.state.status === 'verified' && h.state.resource && (
              <ResourceView resource={h.state.resource} />
            )}
            {h.state.status === 'tampered' && <ErrorBox error={h.state.error} />}
          </li>
        ))}
      </ol>
    </details>
  );
}

export function RecordCard({
  item,
  me,
  history = [],
  onChanged,
}: {
  item: RecordItem;
  me?: string;
  /** Earlier versions this record supersedes, newest first. */
  history?: RecordItem[];
  /** Set where a correction may be written: called once the new version is anchored. */
  onChanged?: () => void;
}) {
  const { record, state } = item;
  const [editing, setEditing] = useState(false);
  const type = state.status === 'verified' ? (state.resource?.resourceType as string | undefined) : undefined;
  const label = record.meta?.kind === 'file' ? 'File' : typeLabel(type ?? record.meta?.resourceType);
  const zero = /^0x0+$/;
  return (
    <article
      className={`record status-${state.status}`}
      id={anchorId(record.recordId)}
      data-record-id={record.recordId}
      data-cid={record.cid}
      data-status={state.status}
      aria-labelledby={`${anchorId(record.recordId)}-t`}
    >
      <header>
        <span className="kind">
          {label} · {categoryOf(item)}
        </span>
        <Status item={item} />
      </header>
      <h3 id={`${anchorId(record.recordId)}-t`}>
        {state.status === 'tampered' ? `${label} (content withheld)` : titleOfItem(item)}
      </h3>
      <p className="meta">
        <time dateTime={new Date(dateOf(item)).toISOString()}>{formatDate(dateOf(item))}</time> · created by{' '}
        {me && record.creator.toLowerCase() === me.toLowerCase() ? 'you' : <Addr value={record.creator} />}
        {record.authorisation?.kind === 'batch' && ' · in a batch'}
        {history.length > 0 && (
          <>
            {' · '}
            <span className="badge version-badge">version {history.length + 1}</span>
          </>
        )}
      </p>
      {state.status === 'tampered' && <ErrorBox error={state.error} />}
      {state.status === 'error' && <ErrorBox error={state.error} />}
      {state.status === 'nokey' && (
        <p className="muted">You hold no key for this record (it was not shared with you).</p>
      )}
      {state.status === 'verified' && state.resource && !editing && (
        <ResourceView resource={state.resource} />
      )}
      {state.status === 'verified' && state.resource && onChanged && !editing && (
        <button type="button" className="edit" onClick={() => setEditing(true)}>
          Correct this record
        </button>
      )}
      {state.status === 'verified' && state.resource && onChanged && editing && (
        <EditVersion
          record={record}
          resource={state.resource}
          onCancel={() => setEditing(false)}
          onDone={() => {
            setEditing(false);
            onChanged();
          }}
        />
      )}
      {history.length > 0 && <History history={history} {...(me ? { me } : {})} />}
      {state.status === 'verified' && !state.resource && state.bytes && (
        <p>
          {(state.meta ?? record.meta)?.contentType} · {bytes(state.bytes.byteLength)}{' '}
          <button type="button" onClick={() => download(item)}>
            Download {(state.meta ?? record.meta)?.name ?? 'file'}
          </button>
        </p>
      )}
      <details className="provenance">
        <summary>Provenance</summary>
        <dl className="facts">
          <div className="fact">
            <dt>Record id</dt>
            <dd>
              <code className="wrap">{record.recordId}</code>
            </dd>
          </div>
          <div className="fact">
            <dt>Creator</dt>
            <dd>
              <code className="wrap">{record.creator}</code>
            </dd>
          </div>
          <div className="fact">
            <dt>Anchored</dt>
            <dd>
              block {record.blockNumber}, tx <code className="wrap">{record.txHash}</code>
            </dd>
          </div>
          <div className="fact">
            <dt>Content id</dt>
            <dd>
              <code className="wrap">{record.cid}</code>
            </dd>
          </div>
          {!zero.test(record.supersedes) && (
            <div className="fact">
              <dt>Replaces</dt>
              <dd>
                <a href={`#${anchorId(record.supersedes)}`} onClick={(e) => jump(e, record.supersedes)}>
                  earlier version {record.supersedes.slice(0, 10)}…
                </a>
              </dd>
            </div>
          )}
          {record.supersededBy && (
            <div className="fact">
              <dt>Replaced by</dt>
              <dd>
                <a href={`#${anchorId(record.supersededBy)}`} onClick={(e) => jump(e, record.supersededBy!)}>
                  newer version {record.supersededBy.slice(0, 10)}…
                </a>
              </dd>
            </div>
          )}
          {state.status === 'verified' && (
            <div className="fact">
              <dt>Checks passed</dt>
              <dd>{state.verification.checks.join(' · ')}</dd>
            </div>
          )}
        </dl>
      </details>
    </article>
  );
}

function jump(e: { preventDefault(): void }, recordId: string) {
  // Keep the hash for routing; scroll to the other version instead.
  e.preventDefault();
  const el = document.getElementById(anchorId(recordId));
  el?.closest('details')?.setAttribute('open', '');
  el?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  el?.focus();
}
