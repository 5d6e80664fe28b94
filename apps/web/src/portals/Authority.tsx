/**
 * The authority portal: certify an address for a role (with evidence and expiry), or revoke a certification; the
 * queue of cases under peer review; the authority council's proposals.
 */

import { useState } from 'react';
import { isAddress } from 'viem';
import { formatDate } from '../fhir/read.ts';
import { type Account, useSession } from '../lib/session.ts';
import { ErrorBox, Notice, useAction } from '../ui/bits.tsx';
import { CertificationQueue, CouncilSection } from './CertificationCouncil.tsx';

export function AuthorityPortal() {
  const { client } = useSession();
  const [address, setAddress] = useState('');
  const [role, setRole] = useState<'provider' | 'researcher'>('provider');
  const [credential, setCredential] = useState('');
  const [expires, setExpires] = useState(() =>
    new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10),
  );
  const [status, setStatus] = useState<Account | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const valid = isAddress(address.trim());
  const target = address.trim() as `0x${string}`;

  const lookup = useAction(async () => setStatus(await client.account(target)));
  const certify = useAction(async () => {
    await client.certify(target, {
      role,
      credential: credential || `credential:${target}`,
      expiresAt: new Date(`${expires}T23:59:59Z`),
    });
    setDone(`Certified ${target} as ${role} until ${expires}.`);
    setStatus(await client.account(target));
  });
  const revoke = useAction(async () => {
    await client.revokeCertification(target, role);
    setDone(`Revoked the ${role} certification of ${target}.`);
    setStatus(await client.account(target));
  });
  const error = certify.error ?? revoke.error ?? lookup.error;

  return (
    <div className="portal authority">
      <h1>Authority</h1>
      <form
        className="card"
        aria-labelledby="certify-h"
        onSubmit={(e) => {
          e.preventDefault();
          setDone(undefined);
          void certify.run();
        }}
      >
        <h2 id="certify-h">Certify or revoke</h2>
        <p className="muted">
          Only a hash of the credential evidence goes on chain. Certification lets a provider write records
          for patients, and a researcher ask for consented data.
        </p>
        <div className="grid2">
          <div className="field wide">
            <label htmlFor="cert-address">Account address</label>
            <input
              id="cert-address"
              value={address}
              onChange={(e) => setAddress(e.target.value)}
              onBlur={() => valid && void lookup.run()}
              placeholder="0x…"
              spellCheck={false}
              autoComplete="off"
              aria-invalid={address !== '' && !valid}
              required
            />
          </div>
          <div className="field">
            <label htmlFor="cert-role">Role</label>
            <select id="cert-role" value={role} onChange={(e) => setRole(e.target.value as 'provider')}>
              <option value="provider">Provider</option>
              <option value="researcher">Researcher</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="cert-expires">Valid until</label>
            <input
              id="cert-expires"
              type="date"
              value={expires}
              onChange={(e) => setExpires(e.target.value)}
            />
          </div>
          <div className="field wide">
            <label htmlFor="cert-credential">Credential evidence (licence number, document reference)</label>
            <input id="cert-credential" value={credential} onChange={(e) => setCredential(e.target.value)} />
          </div>
        </div>
        <ErrorBox error={error} />
        {done && <Notice tone="ok">{done}</Notice>}
        <div className="actions">
          <button type="submit" className="primary" disabled={!valid || certify.busy}>
            {certify.busy ? 'Certifying…' : 'Certify'}
          </button>
          <button
            type="button"
            className="danger"
            disabled={!valid || revoke.busy}
            onClick={() => {
              setDone(undefined);
              void revoke.run();
            }}
          >
            {revoke.busy ? 'Revoking…' : 'Revoke certification'}
          </button>
        </div>
      </form>
      {status && (
        <section className="card" aria-labelledby="status-h">
          <h2 id="status-h">Account status</h2>
          <p>
            <code className="wrap">{status.address}</code>
          </p>
          {status.certifications.length === 0 && <p>No certifications.</p>}
          <ul>
            {status.certifications.map((c) => (
              <li key={c.role}>
                {c.role}: {c.certified ? 'certified' : c.revoked ? 'revoked' : 'expired'} until{' '}
                {formatDate(c.expiresAt * 1000)}, issued by <code>{c.issuer}</code>
              </li>
            ))}
          </ul>
        </section>
      )}
      <CertificationQueue />
      <CouncilSection />
    </div>
  );
}
