/**
 * Emergency access. The patient keeps an emergency profile (blood type, allergies, medications, conditions,
 * contacts, notes), sealed in the browser under a key split k-of-n among the node's emergency key holders. A
 * certified provider breaks the glass: the request (with a reason, of which only a hash goes on chain) is recorded
 * first, the holders release their shares to that provider, the profile opens in the provider's browser, and the
 * patient sees the opening in the access log and notifications.
 */
import type { EmergencyProfile } from '@medbloc/sdk';
import { type ReactNode, useCallback, useEffect, useId, useState } from 'react';
import { isAddress } from 'viem';
import { describeError, type FriendlyError } from '../lib/errors.ts';
import { certificationOf, useSession } from '../lib/session.ts';
import { Addr, ErrorBox, Notice, useAction } from '../ui/bits.tsx';

const BLOOD_TYPES = ['', 'O-', 'O+', 'A-', 'A+', 'B-', 'B+', 'AB-', 'AB+'];

type Contact = NonNullable<EmergencyProfile['contacts']>[number];

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** Drops empty fields so the sealed profile holds only what the patient wrote. */
function compact(p: {
  bloodType: string;
  allergies: string;
  medications: string;
  conditions: string;
  contacts: Contact[];
  notes: string;
}): EmergencyProfile {
  const out: EmergencyProfile = {};
  if (p.bloodType) out.bloodType = p.bloodType;
  for (const k of ['allergies', 'medications', 'conditions'] as const) {
    const l = lines(p[k]);
    if (l.length) out[k] = l;
  }
  const contacts = p.contacts
    .filter((c) => c.name.trim())
    .map((c) => {
      const o: Contact = { name: c.name.trim() };
      if (c.phone?.trim()) o.phone = c.phone.trim();
      if (c.relation?.trim()) o.relation = c.relation.trim();
      return o;
    });
  if (contacts.length) out.contacts = contacts;
  if (p.notes.trim()) out.notes = p.notes.trim();
  return out;
}

/** A read-only view of a profile, as the patient saved it or as a provider opened it. */
export function ProfileView({ profile, heading }: { profile: EmergencyProfile; heading?: ReactNode }) {
  const list = (label: string, items?: string[]) =>
    items?.length ? (
      <div className="fact">
        <dt>{label}</dt>
        <dd>
          <ul>
            {items.map((i) => (
              <li key={i}>{i}</li>
            ))}
          </ul>
        </dd>
      </div>
    ) : null;
  return (
    <div className="emergency-profile" data-testid="emergency-profile">
      {heading}
      <dl className="facts">
        <div className="fact">
          <dt>Blood type</dt>
          <dd>
            <strong>{profile.bloodType ?? 'not given'}</strong>
          </dd>
        </div>
        {list('Allergies', profile.allergies)}
        {list('Medications', profile.medications)}
        {list('Conditions', profile.conditions)}
        {profile.contacts?.length ? (
          <div className="fact">
            <dt>Emergency contacts</dt>
            <dd>
              <ul>
                {profile.contacts.map((c) => (
                  <li key={`${c.name}-${c.phone}`}>
                    {c.name}
                    {c.relation && ` (${c.relation})`}
                    {c.phone && (
                      <>
                        {' '}
                        — <a href={`tel:${c.phone}`}>{c.phone}</a>
                      </>
                    )}
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        ) : null}
        {profile.notes && (
          <div className="fact">
            <dt>Notes</dt>
            <dd>{profile.notes}</dd>
          </div>
        )}
      </dl>
    </div>
  );
}

/** The patient's editor: loads the sealed profile (if any), edits, seals and saves it. */
export function EmergencyPage() {
  const { client } = useSession();
  const id = useId();
  const [saved, setSaved] = useState<EmergencyProfile | null | undefined>();
  const [loadError, setLoadError] = useState<FriendlyError | undefined>();
  const [editing, setEditing] = useState(false);
  const [bloodType, setBloodType] = useState('');
  const [allergies, setAllergies] = useState('');
  const [medications, setMedications] = useState('');
  const [conditions, setConditions] = useState('');
  const [contacts, setContacts] = useState<Contact[]>([{ name: '', phone: '', relation: '' }]);
  const [notes, setNotes] = useState('');
  const [done, setDone] = useState<string | undefined>();

  const fill = useCallback((p: EmergencyProfile) => {
    setBloodType(p.bloodType ?? '');
    setAllergies((p.allergies ?? []).join('\n'));
    setMedications((p.medications ?? []).join('\n'));
    setConditions((p.conditions ?? []).join('\n'));
    setContacts(p.contacts?.length ? p.contacts : [{ name: '', phone: '', relation: '' }]);
    setNotes(p.notes ?? '');
  }, []);

  useEffect(() => {
    client.emergencyProfile().then(
      (p) => {
        setSaved(p);
        fill(p);
      },
      (err) => {
        if ((err as { code?: string }).code === 'PROFILE_NOT_FOUND') {
          setSaved(null);
          setEditing(true);
        } else setLoadError(describeError(err));
      },
    );
  }, [client, fill]);

  const save = useAction(async () => {
    const profile = compact({ bloodType, allergies, medications, conditions, contacts, notes });
    const out = await client.setEmergencyProfile(profile);
    setSaved(profile);
    setEditing(false);
    setDone(
      `Emergency profile sealed and saved. Its key is split among ${out.holders} key holders; any ${out.threshold} of them can open it, and only for a certified provider’s break-glass request recorded on chain.`,
    );
  });

  const setContact = (n: number, k: keyof Contact, v: string) =>
    setContacts(contacts.map((c, i) => (i === n ? { ...c, [k]: v } : c)));

  return (
    <div className="portal emergency">
      <h1>Emergency profile</h1>
      <p className="lead">
        What a first responder needs when you cannot tell them. It is sealed here in your browser; no one —
        not the node, not a provider — can read it unless a certified provider breaks the glass in an
        emergency. Every opening is recorded on chain, appears in your access log, and you are notified.
      </p>
      <ErrorBox error={loadError} />
      {done && <Notice tone="ok">{done}</Notice>}
      {saved === undefined && !loadError && <p role="status">Loading your emergency profile…</p>}
      {saved && !editing && (
        <section className="card" aria-labelledby={`${id}-saved`}>
          <h2 id={`${id}-saved`}>Your saved profile</h2>
          <ProfileView profile={saved} />
          <button type="button" onClick={() => setEditing(true)}>
            Edit the profile
          </button>
        </section>
      )}
      {saved === null && !editing && <p>You have no emergency profile yet.</p>}
      {editing && (
        <form
          className="card"
          aria-labelledby={`${id}-edit`}
          onSubmit={(e) => {
            e.preventDefault();
            setDone(undefined);
            void save.run();
          }}
        >
          <h2 id={`${id}-edit`}>{saved ? 'Edit your emergency profile' : 'Create your emergency profile'}</h2>
          <div className="grid2">
            <div className="field">
              <label htmlFor={`${id}-blood`}>Blood type</label>
              <select id={`${id}-blood`} value={bloodType} onChange={(e) => setBloodType(e.target.value)}>
                {BLOOD_TYPES.map((b) => (
                  <option key={b} value={b}>
                    {b || 'Not given'}
                  </option>
                ))}
              </select>
            </div>
            <div className="field wide">
              <label htmlFor={`${id}-allergies`}>Allergies (one per line)</label>
              <textarea
                id={`${id}-allergies`}
                rows={3}
                value={allergies}
                onChange={(e) => setAllergies(e.target.value)}
              />
            </div>
            <div className="field wide">
              <label htmlFor={`${id}-meds`}>Medications (one per line)</label>
              <textarea
                id={`${id}-meds`}
                rows={3}
                value={medications}
                onChange={(e) => setMedications(e.target.value)}
              />
            </div>
            <div className="field wide">
              <label htmlFor={`${id}-conditions`}>Conditions (one per line)</label>
              <textarea
                id={`${id}-conditions`}
                rows={3}
                value={conditions}
                onChange={(e) => setConditions(e.target.value)}
              />
            </div>
          </div>
          <fieldset>
            <legend>Emergency contacts</legend>
            {contacts.map((c, n) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place by position
              <div className="grid3" key={n}>
                <div className="field">
                  <label htmlFor={`${id}-cn-${n}`}>Contact {n + 1} name</label>
                  <input
                    id={`${id}-cn-${n}`}
                    value={c.name}
                    onChange={(e) => setContact(n, 'name', e.target.value)}
                  />
                </div>
                <div className="field">
                  <label htmlFor={`${id}-cp-${n}`}>Contact {n + 1} phone</label>
                  <input
                    id={`${id}-cp-${n}`}
                    type="tel"
                    value={c.phone ?? ''}
                    onChange={(e) => setContact(n, 'phone', e.target.value)}
                  />
                </div>
                <div className="field">
                  <label htmlFor={`${id}-cr-${n}`}>Contact {n + 1} relation</label>
                  <input
                    id={`${id}-cr-${n}`}
                    value={c.relation ?? ''}
                    onChange={(e) => setContact(n, 'relation', e.target.value)}
                  />
                </div>
              </div>
            ))}
            <button
              type="button"
              onClick={() => setContacts([...contacts, { name: '', phone: '', relation: '' }])}
            >
              Add a contact
            </button>
          </fieldset>
          <div className="field">
            <label htmlFor={`${id}-notes`}>Notes for a first responder</label>
            <textarea id={`${id}-notes`} rows={3} value={notes} onChange={(e) => setNotes(e.target.value)} />
          </div>
          <ErrorBox error={save.error} />
          <div className="actions">
            {saved && (
              <button
                type="button"
                onClick={() => {
                  fill(saved);
                  setEditing(false);
                }}
              >
                Cancel
              </button>
            )}
            <button type="submit" className="primary" disabled={save.busy}>
              {save.busy ? 'Sealing and saving…' : 'Seal and save the profile'}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

/** A certified provider's break-glass: find the patient, give a reason, confirm, then the profile is shown. */
export function BreakGlass() {
  const { client, account } = useSession();
  const id = useId();
  const certified = certificationOf(account, 'provider')?.certified === true;
  const [patient, setPatient] = useState('');
  const [reason, setReason] = useState('');
  const [confirmed, setConfirmed] = useState(false);
  const [opened, setOpened] = useState<
    { patient: string; requestId: string; txHash: string; profile: EmergencyProfile } | undefined
  >();
  const valid = isAddress(patient.trim());
  const open = useAction(async () => {
    if (!valid) throw Object.assign(new Error('Enter the patient’s address.'), { name: 'InputError' });
    if (!reason.trim())
      throw Object.assign(new Error('Give the reason for the emergency access.'), { name: 'InputError' });
    if (!confirmed)
      throw Object.assign(new Error('Confirm that this is an emergency first.'), { name: 'InputError' });
    const out = await client.breakGlass(patient.trim() as `0x${string}`, reason.trim());
    setOpened({ patient: patient.trim(), ...out });
    setConfirmed(false);
  });
  return (
    <section className="card break-glass" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Emergency access (break the glass)</h2>
      <Notice tone="warn">
        Use only when the patient cannot consent and needs care now. Your request and a hash of your reason
        are recorded on chain before anything opens; the opening is logged in the patient’s access log and the
        patient is notified. Only the emergency profile opens — none of the patient’s records.
      </Notice>
      {!certified && (
        <p className="muted">Only certified providers can break the glass; you are not certified now.</p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void open.run();
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-patient`}>Address of the patient in the emergency</label>
          <input
            id={`${id}-patient`}
            value={patient}
            onChange={(e) => setPatient(e.target.value)}
            placeholder="0x…"
            spellCheck={false}
            autoComplete="off"
            aria-invalid={patient !== '' && !valid}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-reason`}>Reason (required)</label>
          <textarea
            id={`${id}-reason`}
            rows={2}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            required
          />
        </div>
        <label className="check">
          <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} /> I
          confirm this is an emergency and understand that this access is recorded and the patient is notified
        </label>
        <ErrorBox error={open.error} />
        <button
          type="submit"
          className="danger"
          disabled={open.busy || !certified || !valid || !reason.trim() || !confirmed}
        >
          {open.busy ? 'Recording the request and opening…' : 'Break the glass'}
        </button>
      </form>
      {opened && (
        <div className="opened" aria-live="polite">
          <Notice tone="warn">
            <strong>Emergency access recorded.</strong> Request{' '}
            <code className="wrap">{opened.requestId}</code> is on chain (tx{' '}
            <code className="wrap">{opened.txHash}</code>); it is logged in the patient’s access log and the
            patient has been notified.
          </Notice>
          <ProfileView
            profile={opened.profile}
            heading={
              <h3>
                Emergency profile of <Addr value={opened.patient} />
              </h3>
            }
          />
        </div>
      )}
    </section>
  );
}
