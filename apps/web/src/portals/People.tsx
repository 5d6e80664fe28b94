/**
 * The people around a patient: delegates (a guardian or carer who acts for the patient, each action signed by and
 * attributed to them), social-recovery guardians (k of n of them can restore the patient's identity on a new
 * device), the patients this identity acts for, and — as a recovery guardian — releasing a share to a patient's new
 * device. Every appointment and share is signed or sealed here in the browser; the node sees ciphertext only.
 */
import type { Category, DelegateView } from '@medbloc/sdk';
import { useCallback, useEffect, useId, useState } from 'react';
import { isAddress } from 'viem';
import { formatDate } from '../fhir/read.ts';
import { describeError, type FriendlyError } from '../lib/errors.ts';
import { useRecords } from '../lib/records.ts';
import { hasRole, nodeUrl, useSession } from '../lib/session.ts';
import { Addr, ErrorBox, keyCode, Notice, useAction, useLoaded } from '../ui/bits.tsx';
import { ResourceForm } from '../ui/ResourceForm.tsx';
import { Timeline } from '../ui/Timeline.tsx';
import { UploadFhir } from '../ui/Upload.tsx';

type Address = `0x${string}`;

const input = (msg: string) => Object.assign(new Error(msg), { name: 'InputError' });

export function PeoplePage() {
  const { account } = useSession();
  const patient = hasRole(account, 'patient');
  return (
    <div className="portal people">
      <h1>Delegates &amp; recovery</h1>
      {patient && <Delegates />}
      {patient && <RecoveryGuardians />}
      <ActingFor />
      <GuardianDuty />
    </div>
  );
}

function Delegates() {
  const { client } = useSession();
  const id = useId();
  const {
    value: list,
    error: loadError,
    reload: load,
  } = useLoaded(useCallback(() => client.delegates(), [client]));
  const [who, setWho] = useState('');
  const [kind, setKind] = useState<'carer' | 'guardian'>('carer');
  const [until, setUntil] = useState('');
  const [done, setDone] = useState<string | undefined>();
  const add = useAction(async () => {
    if (!isAddress(who.trim())) throw input('That is not a valid address.');
    await client.appointDelegate({
      delegate: who.trim() as Address,
      kind,
      ...(until ? { expiresAt: new Date(`${until}T23:59:59`) } : {}),
    });
    setDone(`${who.trim()} is now your ${kind}.`);
    setWho('');
    await load();
  });
  const remove = useAction(async (d: DelegateView) => {
    await client.revokeDelegate({ delegate: d.delegate });
    setDone(`${d.delegate} no longer acts for you; your sharing keys were rotated.`);
    await load();
  });
  const live = (list ?? []).filter((d) => d.live);
  const past = (list ?? []).filter((d) => !d.live);
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Delegates (guardians and carers)</h2>
      <p className="muted">
        A delegate can add records for you and share your records by category, each action signed by them and
        shown as theirs. Removing one stops them at once and rotates your sharing keys, so they can derive no
        key to anything written afterwards.
      </p>
      <ErrorBox error={loadError ?? remove.error} />
      {done && <Notice tone="ok">{done}</Notice>}
      {list && live.length === 0 && <p>Nobody acts for you.</p>}
      <ul className="grants" aria-label="Your delegates">
        {live.map((d) => (
          <li key={d.delegate} data-testid="delegate">
            <span>
              <Addr value={d.delegate} /> is your <strong>{d.kind}</strong>
              {d.expiresAt ? ` until ${formatDate(d.expiresAt * 1000)}` : ''}
            </span>
            <button
              type="button"
              className="danger"
              disabled={remove.busy}
              onClick={() => void remove.run(d)}
              aria-label={`Remove delegate ${d.delegate}`}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      {past.length > 0 && (
        <details>
          <summary>Former delegates ({past.length})</summary>
          <ul>
            {past.map((d) => (
              <li key={`${d.delegate}-${d.blockNumber}`}>
                <Addr value={d.delegate} /> — {d.kind}, {d.revoked ? 'removed' : 'expired'}
              </li>
            ))}
          </ul>
        </details>
      )}
      <form
        className="grid2"
        onSubmit={(e) => {
          e.preventDefault();
          setDone(undefined);
          void add.run();
        }}
      >
        <h3 className="wide">Add a delegate</h3>
        <div className="field wide">
          <label htmlFor={`${id}-who`}>Delegate address</label>
          <input
            id={`${id}-who`}
            value={who}
            onChange={(e) => setWho(e.target.value)}
            placeholder="0x…"
            spellCheck={false}
            autoComplete="off"
            aria-invalid={who !== '' && !isAddress(who.trim())}
            required
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-kind`}>Acts as</label>
          <select
            id={`${id}-kind`}
            value={kind}
            onChange={(e) => setKind(e.target.value as 'carer' | 'guardian')}
          >
            <option value="carer">Carer</option>
            <option value="guardian">Guardian</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-until`}>Until (optional)</label>
          <input id={`${id}-until`} type="date" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
        <div className="wide">
          <ErrorBox error={add.error} />
          <button type="submit" className="primary" disabled={add.busy || !isAddress(who.trim())}>
            {add.busy ? 'Signing…' : 'Add delegate'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** This patient's recovery guardian set, straight from the node (only the patient may list it). */
async function guardianSet(token: string, me: string) {
  const res = await fetch(`${nodeUrl()}/v1/recovery/${me}/guardians`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  });
  if (res.status === 404) return undefined;
  const body = (await res.json()) as {
    threshold: number;
    guardians: Address[];
    code?: string;
    detail?: string;
  };
  if (!res.ok) throw Object.assign(new Error(body.detail ?? res.statusText), { code: body.code });
  return body;
}

function RecoveryGuardians() {
  const { client, identity } = useSession();
  const id = useId();
  const {
    value: current,
    error: loadError,
    reload: load,
  } = useLoaded(
    useCallback(
      async () => (await guardianSet(await client.login(), identity.address)) ?? null,
      [client, identity.address],
    ),
  );
  const [text, setText] = useState('');
  const [threshold, setThreshold] = useState(2);
  const [done, setDone] = useState<string | undefined>();
  const addresses = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const save = useAction(async () => {
    const bad = addresses.find((a) => !isAddress(a));
    if (bad) throw input(`${bad} is not a valid address.`);
    if (new Set(addresses.map((a) => a.toLowerCase())).size !== addresses.length)
      throw input('A guardian is listed twice.');
    if (addresses.length < 2) throw input('Name at least two guardians.');
    if (threshold < 2 || threshold > addresses.length)
      throw input(`The number needed must be from 2 to ${addresses.length}.`);
    await client.setRecoveryGuardians({ guardians: addresses as Address[], threshold });
    setDone(
      `Recovery set up: any ${threshold} of your ${addresses.length} guardians can restore your identity.`,
    );
    setText('');
    await load();
  });
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Recovery guardians</h2>
      <p className="muted">
        If you lose your recovery phrase, enough of your guardians together can restore your identity on a new
        device. Your phrase is split here, k of n; each guardian gets one sealed share, and fewer than k of
        them learn nothing.
      </p>
      <ErrorBox error={loadError} />
      {done && <Notice tone="ok">{done}</Notice>}
      {current === null && <p>You have no recovery guardians yet.</p>}
      {current && (
        <div data-testid="recovery-set">
          <p>
            Any <strong>{current.threshold}</strong> of these {current.guardians.length} guardians can restore
            your identity:
          </p>
          <ul>
            {current.guardians.map((g) => (
              <li key={g}>
                <Addr value={g} />
              </li>
            ))}
          </ul>
        </div>
      )}
      <form
        className="grid2"
        onSubmit={(e) => {
          e.preventDefault();
          setDone(undefined);
          void save.run();
        }}
      >
        <h3 className="wide">{current ? 'Replace your guardians' : 'Choose your guardians'}</h3>
        <div className="field wide">
          <label htmlFor={`${id}-list`}>Guardian addresses (one per line)</label>
          <textarea
            id={`${id}-list`}
            rows={3}
            value={text}
            onChange={(e) => setText(e.target.value)}
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-k`}>Guardians needed to recover</label>
          <input
            id={`${id}-k`}
            type="number"
            min={2}
            max={Math.max(2, addresses.length)}
            value={threshold}
            onChange={(e) => setThreshold(Number(e.target.value))}
          />
        </div>
        <div className="wide">
          <ErrorBox error={save.error} />
          <button type="submit" className="primary" disabled={save.busy || addresses.length < 2}>
            {save.busy ? 'Splitting and sealing…' : 'Set up recovery'}
          </button>
        </div>
      </form>
    </section>
  );
}

const CATEGORIES: [Category, string][] = [
  ['labs', 'lab results'],
  ['imaging', 'imaging'],
  ['medications', 'medications'],
  ['notes', 'clinical notes and reports'],
  ['genomics', 'genomics'],
  ['other', 'other records'],
];

/** The patients this identity is a delegate of, and acting for one of them. */
function ActingFor() {
  const { client } = useSession();
  const id = useId();
  const [list, setList] = useState<DelegateView[] | undefined>();
  const [error, setError] = useState<FriendlyError | undefined>();
  const [chosen, setChosen] = useState<Address | undefined>();
  useEffect(() => {
    client.delegates({ as: 'delegate' }).then(
      (l) => setList(l.filter((d) => d.live)),
      (err) => setError(describeError(err)),
    );
  }, [client]);
  if (!list?.length && !error) return null;
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Patients you act for</h2>
      <ErrorBox error={error} />
      <ul className="grants">
        {(list ?? []).map((d) => (
          <li key={d.patient}>
            <span>
              You are the <strong>{d.kind}</strong> of <Addr value={d.patient} />
            </span>
            <button
              type="button"
              aria-pressed={chosen === d.patient}
              onClick={() => setChosen(chosen === d.patient ? undefined : d.patient)}
            >
              Act for this patient
            </button>
          </li>
        ))}
      </ul>
      {chosen && <ActFor key={chosen} patient={chosen} />}
    </section>
  );
}

/** The records of the patient this identity acts for, each opened with the patient's keys and verified; a FHIR
 * record can be corrected (a new version, signed by the delegate). */
function PatientRecords({ records, me }: { records: ReturnType<typeof useRecords>; me: Address }) {
  return (
    <>
      <h3>The patient’s records</h3>
      <ErrorBox error={records.error} />
      <button type="button" onClick={() => void records.reload()}>
        Refresh records
      </button>
      {records.items && (
        <Timeline items={records.items} me={me} editable onChanged={() => void records.reload()} />
      )}
    </>
  );
}

function ActFor({ patient }: { patient: Address }) {
  const { client, identity } = useSession();
  const records = useRecords(client, patient);
  const id = useId();
  const [mode, setMode] = useState<'form' | 'fhir'>('form');
  const [grantee, setGrantee] = useState('');
  const [category, setCategory] = useState<Category>('labs');
  const [done, setDone] = useState<string | undefined>();
  const share = useAction(async () => {
    if (!isAddress(grantee.trim())) throw input('That is not a valid address.');
    await client.grant({ owner: patient, grantee: grantee.trim() as Address, category, purpose: 'care' });
    setDone(`Shared the patient’s ${CATEGORIES.find(([c]) => c === category)?.[1]} with ${grantee.trim()}.`);
    setGrantee('');
  });
  return (
    <section className="act-for" aria-label={`Acting for ${patient}`}>
      <Notice>
        You are acting for <Addr value={patient} />. What you add, share or open is signed by you and shown to
        the patient as yours: every record you open appears in the patient’s access log.
      </Notice>
      <PatientRecords records={records} me={identity.address} />
      <h3>Add a record for the patient</h3>
      <fieldset className="tabs">
        <legend className="sr-only">How to add</legend>
        <button type="button" aria-pressed={mode === 'form'} onClick={() => setMode('form')}>
          Form
        </button>
        <button type="button" aria-pressed={mode === 'fhir'} onClick={() => setMode('fhir')}>
          FHIR JSON
        </button>
      </fieldset>
      {mode === 'form' ? (
        <ResourceForm client={client} owner={patient} onDone={() => void records.reload()} />
      ) : (
        <UploadFhir client={client} owner={patient} onDone={() => void records.reload()} />
      )}
      <form
        className="grid2"
        onSubmit={(e) => {
          e.preventDefault();
          setDone(undefined);
          void share.run();
        }}
      >
        <h3 className="wide">Share the patient’s records for care</h3>
        <div className="field wide">
          <label htmlFor={`${id}-grantee`}>Share with (address)</label>
          <input
            id={`${id}-grantee`}
            value={grantee}
            onChange={(e) => setGrantee(e.target.value)}
            placeholder="0x…"
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-cat`}>What</label>
          <select id={`${id}-cat`} value={category} onChange={(e) => setCategory(e.target.value as Category)}>
            {CATEGORIES.map(([c, l]) => (
              <option key={c} value={c}>
                {l}
              </option>
            ))}
          </select>
        </div>
        <div className="wide">
          <ErrorBox error={share.error} />
          {done && <Notice tone="ok">{done}</Notice>}
          <button type="submit" disabled={share.busy || !isAddress(grantee.trim())}>
            {share.busy ? 'Sharing…' : 'Share for the patient'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** As a recovery guardian: see a patient's pending recovery requests and release this guardian's share. */
function GuardianDuty() {
  const { client } = useSession();
  const id = useId();
  const [patient, setPatient] = useState('');
  const [requests, setRequests] = useState<
    { recoveryKey: `0x${string}`; requestedAt: number }[] | undefined
  >();
  const [released, setReleased] = useState<Set<string>>(new Set());
  const look = useAction(async () => {
    if (!isAddress(patient.trim())) throw input('That is not a valid address.');
    setRequests(await client.recoveryRequests(patient.trim() as Address));
  });
  const release = useAction(async (recoveryKey: `0x${string}`) => {
    await client.releaseRecoveryShare({ patient: patient.trim() as Address, recoveryKey });
    setReleased(new Set([...released, recoveryKey]));
  });
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Help someone recover (as their guardian)</h2>
      <p className="muted">
        When someone who named you a recovery guardian asks to restore their identity on a new device, their
        device shows a code. Check that code with them in person or by phone before you release your share:
        anyone can ask, only the person with that device should receive it.
      </p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          setRequests(undefined);
          void look.run();
        }}
      >
        <label htmlFor={`${id}-patient`} className="sr-only">
          Address of the person recovering
        </label>
        <input
          id={`${id}-patient`}
          value={patient}
          onChange={(e) => setPatient(e.target.value)}
          placeholder="Address of the person recovering (0x…)"
          spellCheck={false}
        />
        <button type="submit" disabled={look.busy || !isAddress(patient.trim())}>
          Look for requests
        </button>
      </form>
      <ErrorBox error={look.error ?? release.error} />
      {requests && requests.length === 0 && <p>No recovery has been requested for this person.</p>}
      {requests && requests.length > 0 && (
        <ul className="grants">
          {requests.map((r) => (
            <li key={r.recoveryKey}>
              <span>
                Device code <strong className="keycode">{keyCode(r.recoveryKey)}</strong>, asked{' '}
                {formatDate(r.requestedAt < 1e12 ? r.requestedAt * 1000 : r.requestedAt)}
              </span>
              {released.has(r.recoveryKey) ? (
                <span className="badge ok">Share released</span>
              ) : (
                <button type="button" disabled={release.busy} onClick={() => void release.run(r.recoveryKey)}>
                  Release my share to {keyCode(r.recoveryKey)}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
