/**
 * `medbloc delegate add|remove|list`: a patient appoints a guardian or carer who may read the patient's records (for
 * care), share its categories and add records for it (each action signed by the delegate and attributed to it, each
 * read in the patient's access log), and revokes them.
 */
import { type Address, getAddress, isAddress } from 'viem';
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';

function accountOf(a: string, what = 'address'): Address {
  if (!isAddress(a)) throw new CliError(`"${a}" is not an ${what}`, 'INVALID_ADDRESS');
  return getAddress(a);
}

export async function add(delegate: string, o: GlobalOptions & { kind?: string; expires?: string }) {
  const kind = o.kind ?? 'carer';
  if (kind !== 'guardian' && kind !== 'carer')
    throw new CliError('--kind must be guardian or carer', 'INVALID_KIND');
  let expiresAt: Date | undefined;
  if (o.expires) {
    expiresAt = new Date(o.expires);
    if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())
      throw new CliError(`--expires "${o.expires}" is not a future date`, 'INVALID_EXPIRY');
  }
  const client = await clientFor(o);
  const who = accountOf(delegate);
  const out = await client.appointDelegate({ delegate: who, kind, ...(expiresAt ? { expiresAt } : {}) });
  print(
    o,
    { patient: client.address, delegate: who, kind, ...out },
    `Appointed ${who} as your ${kind}${expiresAt ? ` until ${expiresAt.toISOString()}` : ''} (tx ${out.txHash})`,
  );
}

export async function remove(delegate: string, o: GlobalOptions & { patient?: string }) {
  const client = await clientFor(o);
  const who = accountOf(delegate);
  const patient = o.patient ? accountOf(o.patient, 'address (--patient)') : client.address;
  const out = await client.revokeDelegate({ delegate: who, patient });
  print(
    o,
    { patient, delegate: who, ...out },
    `Revoked ${who} as a delegate of ${patient} (tx ${out.txHash})`,
  );
}

export async function list(o: GlobalOptions & { patient?: string; for?: boolean; all?: boolean }) {
  const client = await clientFor(o);
  const rows = (
    await client.delegates(
      o.for
        ? { as: 'delegate' }
        : { patient: o.patient ? accountOf(o.patient, 'address (--patient)') : client.address },
    )
  ).filter((d) => o.all || d.live);
  print(o, rows, () => {
    if (rows.length === 0) return o.all ? 'No delegates.' : 'No live delegates.';
    const lines = rows.map((d) => {
      const who = o.for ? `for ${d.patient}` : d.delegate;
      const state = d.live
        ? d.expiresAt
          ? `until ${new Date(d.expiresAt * 1000).toISOString().slice(0, 16)}`
          : 'until revoked'
        : d.revoked
          ? `revoked by ${d.revokedBy ?? '?'}`
          : 'lapsed';
      return `${d.kind.padEnd(8)} ${who}  ${state}`;
    });
    const hint =
      o.for && rows.some((d) => d.live)
        ? ['Read a patient’s records with: medbloc record list --owner <patient>']
        : [];
    return [...lines, `${rows.length} delegate(s)`, ...hint].join('\n');
  });
}
