/**
 * The provider portal: certification status, the patients who shared with this provider, writing records for a
 * patient, reading (and correcting) what the patient shared, and emergency access (break-glass).
 */

import type { GrantView } from '@medbloc/sdk';
import { useEffect, useState } from 'react';
import { isAddress } from 'viem';
import { useRecords } from '../lib/records.ts';
import { certificationOf, useSession } from '../lib/session.ts';
import { Addr, Notice } from '../ui/bits.tsx';
import { ResourceForm } from '../ui/ResourceForm.tsx';
import { Timeline } from '../ui/Timeline.tsx';
import { UploadFhir, UploadFile } from '../ui/Upload.tsx';
import { CertificationSection } from './Certification.tsx';
import { ReviewerSection } from './CertificationReviews.tsx';
import { BreakGlass } from './Emergency.tsx';

function PatientRecords({ patient }: { patient: `0x${string}` }) {
  const { client, identity } = useSession();
  const { items, error, reload } = useRecords(client, patient);
  return (
    <section className="card" aria-labelledby="read-h">
      <h2 id="read-h">Records of this patient</h2>
      <p className="muted">You can open the records the patient has shared with you; others stay sealed.</p>
      {error && (
        <Notice tone="warn">
          {error.title}: {error.detail}
        </Notice>
      )}
      <button type="button" onClick={() => void reload()}>
        Refresh
      </button>
      {items && <Timeline items={items} me={identity.address} editable onChanged={() => void reload()} />}
    </section>
  );
}

/** Patients whose live care grants name this provider; choosing one fills in the patient's address. */
function SharedWithMe({ onChoose }: { onChoose: (patient: string) => void }) {
  const { client } = useSession();
  const [grants, setGrants] = useState<GrantView[] | undefined>();
  useEffect(() => {
    client.grants({ as: 'grantee' }).then(
      (g) => setGrants(g.filter((x) => x.live && x.purpose === 'care')),
      () => setGrants(undefined),
    );
  }, [client]);
  const owners = [...new Set((grants ?? []).map((g) => g.owner))];
  if (!grants) return null;
  return (
    <section className="card" aria-labelledby="shared-h">
      <h2 id="shared-h">Patients who shared records with you</h2>
      {owners.length === 0 && <p className="muted">No patient has shared records with you for care yet.</p>}
      <ul className="grants">
        {owners.map((o) => (
          <li key={o}>
            <Addr value={o} />
            <button type="button" onClick={() => onChoose(o)}>
              Open this patient
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ProviderPortal() {
  const { client, account } = useSession();
  const certified = !!certificationOf(account, 'provider')?.certified;
  const [input, setInput] = useState('');
  const [mode, setMode] = useState<'form' | 'fhir' | 'file'>('form');
  const [version, setVersion] = useState(0);
  const patient = isAddress(input.trim()) ? (input.trim() as `0x${string}`) : undefined;
  const done = () => setVersion((v) => v + 1);
  return (
    <div className="portal provider">
      <h1>Provider</h1>
      <CertificationSection certRole="provider" testId="cert-status" notYet="Not certified yet" />
      {certified && <ReviewerSection />}
      <SharedWithMe onChoose={setInput} />
      <section className="card" aria-labelledby="write-h">
        <h2 id="write-h">Add records for a patient</h2>
        <div className="field">
          <label htmlFor="patient-address">Patient address</label>
          <input
            id="patient-address"
            value={input}
            onChange={(e) => setInput(e.target.value)}
            placeholder="0x…"
            spellCheck={false}
            autoComplete="off"
            aria-invalid={input !== '' && !patient}
          />
          {input !== '' && !patient && <small className="bad-text">That is not a valid address.</small>}
        </div>
        <fieldset className="tabs">
          <legend className="sr-only">How to add</legend>
          {(
            [
              ['form', 'Form'],
              ['fhir', 'FHIR JSON / Bundle'],
              ['file', 'File'],
            ] as const
          ).map(([m, l]) => (
            <button key={m} type="button" aria-pressed={mode === m} onClick={() => setMode(m)}>
              {l}
            </button>
          ))}
        </fieldset>
        {mode === 'form' && <ResourceForm client={client} owner={patient} onDone={done} />}
        {mode === 'fhir' && patient && <UploadFhir client={client} owner={patient} onDone={done} />}
        {mode === 'file' && patient && <UploadFile client={client} owner={patient} onDone={done} />}
        {mode !== 'form' && !patient && <p className="muted">Enter the patient’s address first.</p>}
      </section>
      {patient && <PatientRecords key={`${patient}-${version}`} patient={patient} />}
      <BreakGlass />
    </div>
  );
}
