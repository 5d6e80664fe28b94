/** `medbloc account register|show`: on-chain registration (gasless) and what the chain says about an account. */
import type { RoleName } from '@medbloc/core';
import type { Address } from 'viem';
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';

const ROLES: RoleName[] = ['patient', 'provider', 'researcher'];

export async function register(o: GlobalOptions & { role?: string[] }) {
  const roles = (o.role?.length ? o.role : ['patient']) as RoleName[];
  for (const r of roles)
    if (!ROLES.includes(r))
      throw new CliError(`unknown role "${r}" (use ${ROLES.join(', ')})`, 'INVALID_ROLE');
  const client = await clientFor(o);
  const out = await client.register({ roles });
  print(
    o,
    { address: client.address, roles, ...out },
    `Registered ${client.address} as ${roles.join(', ')} (tx ${out.txHash})`,
  );
}

export async function show(address: string | undefined, o: GlobalOptions) {
  const client = await clientFor(o);
  const a = await client.account((address as Address | undefined) ?? client.address);
  print(o, a, () =>
    [
      `Account    ${a.address}`,
      `Roles      ${ROLES.filter((_, i) => a.roles & (1 << i)).join(', ') || '-'}${a.authority ? ' (authority)' : ''}`,
      `Enc. key   ${a.encryptionKey}`,
      ...a.certifications.map(
        (c) =>
          `Certified  ${c.role}: ${c.certified ? 'yes' : 'no'} (by ${c.issuer}, until ${new Date(c.expiresAt * 1000).toISOString().slice(0, 10)}${c.revoked ? ', revoked' : ''})`,
      ),
    ].join('\n'),
  );
}
