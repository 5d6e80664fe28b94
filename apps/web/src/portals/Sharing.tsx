/**
 * Sharing and the access log: grants by category and purpose with an expiry, revocation, and the patient's
 * verifiable log of who read what. Shown when the SDK offers consent (grant/revoke/grants/auditLog); otherwise a
 * notice that sharing is coming — never made-up data.
 */
import type { MedblocClient } from '@medbloc/sdk';
import { useCallback, useEffect, useState } from 'react';
import { isAddress } from 'viem';
import { formatDate } from '../fhir/read.ts';
import { useSession } from '../lib/session.ts';
import { Addr, ErrorBox, Notice, useAction, useLoaded } from '../ui/bits.tsx';

type Address = `0x${string}`;
type Purpose = 'care' | 'research';
const CATEGORIES = [
  ['labs', 'lab results'],
  ['imaging', 'imaging'],
  ['medications', 'medications'],
  ['notes', 'clinical notes and reports'],
  ['genomics', 'genomics'],
  ['other', 'other records'],
] as const;

interface Grant {
  grantee: Address;
  scope: `0x${string}`;
  kind: 'record' | 'category';
  purpose: Purpose;
  expiresAt: number;
  revoked: boolean;
  live: boolean;
  category?: string;
}
interface AuditEntry {
  seq: number;
  request: { requester: Address; record: `0x${string}`; purpose: number; time: number };
  outcome: 'granted' | 'denied';
  loggedAt: number;
  anchor: unknown | null;
}
interface Consent {
  grant(o: {
    grantee: Address;
    category?: string;
    record?: `0x${string}`;
    purpose?: Purpose;
    expiresAt?: Date;
  }): Promise<unknown>;
  revoke(o: {
    grantee: Address;
    category?: string;
    record?: `0x${string}`;
    purpose?: Purpose;
  }): Promise<unknown>;
  grants(): Promise<Grant[]>;
  auditLog(): Promise<{ entries: AuditEntry[] }>;
  verifyAudit?(): Promise<{
    ok: boolean;
    verified: number;
    pending: number;
    problems: { seq: number | null; problem: string }[];
  }>;
}

function consentOf(client: MedblocClient): Consent | undefined {
  const c = client as unknown as Partial<Consent>;
  return typeof c.grant === 'function' &&
    typeof c.revoke === 'function' &&
    typeof c.grants === 'function' &&
    typeof c.auditLog === 'function'
    ? (c as Consent)
    : undefined;
}

const labelOf = (category?: string) =>
  CATEGORIES.find(([c]) => c === category)?.[1] ?? category ?? 'a record';
const PURPOSES = ['', 'care', 'research', 'emergency', 'delegate'];
/** A break-glass opening: the record column holds the on-chain request id. */
const EMERGENCY = 3;

export function SharingPage() {
  const { client } = useSession();
  const consent = consentOf(client);
  return (
    <div className="portal sharing">
      <h1>Sharing &amp; access log</h1>
      {consent ? (
        <>
          <Grants consent={consent} />
          <AccessLog consent={consent} />
        </>
      ) : (
        <section className="card" aria-labelledby="soon-h">
          <h2 id="soon-h">Sharing is coming</h2>
          <p>
            Soon you will grant a provider access to a category of your records for a purpose and a time,
            revoke it at any moment, and see a verifiable log of every read of your data. Until then, only you
            can open your records.
          </p>
        </section>
      )}
    </div>
  );
}

function Grants({ consent }: { consent: Consent }) {
  const {
    value: grants,
    error: loadError,
    reload: load,
  } = useLoaded(useCallback(() => consent.grants(), [consent]));
  const [grantee, setGrantee] = useState('');
  const [category, setCategory] = useState('labs');
  const [purpose, setPurpose] = useState<Purpose>('care');
  const [until, setUntil] = useState(() => new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
  const give = useAction(async () => {
    await consent.grant({
      grantee: grantee.trim() as Address,
      category,
      purpose,
      expiresAt: new Date(`${until}T23:59:59`),
    });
    setGrantee('');
    await load();
  });
  const take = useAction(async (g: Grant) => {
    await consent.revoke(
      g.kind === 'record'
        ? { grantee: g.grantee, record: g.scope, purpose: g.purpose }
        : { grantee: g.grantee, ...(g.category ? { category: g.category } : {}), purpose: g.purpose },
    );
    await load();
  });
  const live = (grants ?? []).filter((g) => g.live);
  const past = (grants ?? []).filter((g) => !g.live);
  return (
    <section className="card" aria-labelledby="grants-h">
      <h2 id="grants-h">Who can see your records</h2>
      <ErrorBox error={loadError ?? take.error} />
      {grants && live.length === 0 && <p>Nobody else can open your records.</p>}
      <ul className="grants">
        {live.map((g) => (
          <li key={`${g.grantee}-${g.scope}-${g.purpose}`}>
            <span>
              <Addr value={g.grantee} /> can see your {g.kind === 'record' ? 'record' : labelOf(g.category)}{' '}
              for {g.purpose} until {formatDate(g.expiresAt * 1000)}
            </span>
            <button type="button" className="danger" disabled={take.busy} onClick={() => void take.run(g)}>
              Revoke
            </button>
          </li>
        ))}
      </ul>
      {past.length > 0 && (
        <details>
          <summary>Ended or revoked ({past.length})</summary>
          <ul>
            {past.map((g) => (
              <li key={`${g.grantee}-${g.scope}-${g.purpose}-past`}>
                <Addr value={g.grantee} /> — {labelOf(g.category)} for {g.purpose},{' '}
                {g.revoked ? 'revoked' : `ended ${formatDate(g.expiresAt * 1000)}`}
              </li>
            ))}
          </ul>
        </details>
      )}
      <form
        className="grid2"
        onSubmit={(e) => {
          e.preventDefault();
          void give.run();
        }}
      >
        <h3 className="wide">Share with someone</h3>
        <div className="field wide">
          <label htmlFor="grantee">Their address</label>
          <input
            id="grantee"
            value={grantee}
            onChange={(e) => setGrantee(e.target.value)}
            placeholder="0x…"
            spellCheck={false}
            aria-invalid={grantee !== '' && !isAddress(grantee.trim())}
            required
          />
        </div>
        <div className="field">
          <label htmlFor="grant-category">What</label>
          <select id="grant-category" value={category} onChange={(e) => setCategory(e.target.value)}>
            {CATEGORIES.map(([c, l]) => (
              <option key={c} value={c}>
                {l}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="grant-purpose">Why</label>
          <select id="grant-purpose" value={purpose} onChange={(e) => setPurpose(e.target.value as Purpose)}>
            <option value="care">Care</option>
            <option value="research">Research</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="grant-until">Until</label>
          <input id="grant-until" type="date" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
        <div className="wide">
          <ErrorBox error={give.error} />
          <button type="submit" className="primary" disabled={give.busy || !isAddress(grantee.trim())}>
            {give.busy ? 'Sharing…' : 'Share'}
          </button>
        </div>
      </form>
    </section>
  );
}

function AccessLog({ consent }: { consent: Consent }) {
  const me = useSession().identity.address.toLowerCase();
  const [entries, setEntries] = useState<AuditEntry[] | undefined>();
  const [check, setCheck] = useState<Awaited<ReturnType<NonNullable<Consent['verifyAudit']>>> | undefined>();
  const load = useAction(async () => {
    setEntries((await consent.auditLog()).entries);
    if (consent.verifyAudit) setCheck(await consent.verifyAudit());
  });
  // Load once when the log opens (and again if the identity changes); `load` itself is recreated each render.
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed on the consent handle on purpose
  useEffect(() => {
    void load.run();
  }, [consent]);
  return (
    <section className="card" aria-labelledby="log-h">
      <h2 id="log-h">Access log</h2>
      <ErrorBox error={load.error} />
      {check && (
        <Notice tone={check.ok ? 'ok' : 'warn'}>
          {check.ok ? 'The log verifies' : 'The log does not fully verify'}: {check.verified} entries anchored
          on chain, {check.pending} awaiting anchoring
          {check.problems.length > 0 && `, ${check.problems.length} problems`}.
        </Notice>
      )}
      {entries && entries.length === 0 && <p>No one has read your records yet.</p>}
      {entries && entries.length > 0 && (
        <table className="log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Record</th>
              <th scope="col">Why</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {[...entries].reverse().map((e) => (
              <tr key={e.seq} className={e.request.purpose === EMERGENCY ? 'break-glass-row' : undefined}>
                <td>{formatDate(e.request.time * 1000)}</td>
                <td>
                  {e.request.requester.toLowerCase() === me ? 'you' : <Addr value={e.request.requester} />}
                </td>
                <td>
                  {e.request.purpose === EMERGENCY ? 'your emergency profile' : null}{' '}
                  <code title={e.request.record}>{e.request.record.slice(0, 10)}…</code>
                </td>
                <td>
                  {e.request.purpose === EMERGENCY
                    ? 'emergency (break-glass)'
                    : (PURPOSES[e.request.purpose] ?? e.request.purpose)}
                </td>
                <td className={e.outcome === 'denied' ? 'bad-text' : ''}>{e.outcome}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
