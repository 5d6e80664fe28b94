/** Registration: the browser signs an EIP-712 registration (address, encryption key, role); the node relays it. */
import type { RoleName } from '@medbloc/core/portable';
import { useState } from 'react';
import { useSession } from '../lib/session.ts';
import { ErrorBox, useAction } from '../ui/bits.tsx';

const ROLES: { role: RoleName; title: string; text: string }[] = [
  { role: 'patient', title: 'Patient', text: 'Keep your own records and decide who sees them.' },
  {
    role: 'provider',
    title: 'Provider',
    text: 'Write records for your patients. An authority must certify you before you can write.',
  },
  {
    role: 'researcher',
    title: 'Researcher',
    text: 'Ask for consented data. An authority must certify you first.',
  },
];

export function Register() {
  const { client, refreshAccount } = useSession();
  const [role, setRole] = useState<RoleName>('patient');
  const { run, busy, error } = useAction(async () => {
    await client.register({ roles: [role] });
    await refreshAccount();
  });
  return (
    <form
      className="card narrow"
      aria-labelledby="reg-h"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <h2 id="reg-h">Register on MedBloc</h2>
      <p>
        Your browser signs a registration with your key; the node puts it on chain for you (no fees). Only
        your address, your public encryption key and your role become public.
      </p>
      <fieldset>
        <legend>I am a…</legend>
        {ROLES.map((r) => (
          <label key={r.role} className="choice">
            <input
              type="radio"
              name="role"
              value={r.role}
              checked={role === r.role}
              onChange={() => setRole(r.role)}
            />
            <span>
              <strong>{r.title}</strong>
              <small>{r.text}</small>
            </span>
          </label>
        ))}
      </fieldset>
      <ErrorBox error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Registering…' : 'Register'}
        </button>
      </div>
    </form>
  );
}
