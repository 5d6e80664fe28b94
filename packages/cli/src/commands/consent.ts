/**
 * `medbloc grant|revoke|grants list`: a patient shares one record or a category with a provider or researcher, for a
 * purpose, until an expiry or a revocation. Signed here, relayed by the node (no gas); the keys follow the consent.
 */
import { CATEGORIES, type Category, isCategory, type ReadPurpose } from '@medbloc/sdk';
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem';
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';

type ScopeOptions = GlobalOptions & {
  record?: string;
  category?: string;
  purpose?: string;
  expires?: string;
  for?: string;
};

function target(o: ScopeOptions): { record: Hex } | { category: Category } {
  if (o.record && o.category) throw new CliError('give --record or --category, not both', 'INVALID_SCOPE');
  if (o.record) {
    if (!isHex(o.record) || o.record.length !== 66)
      throw new CliError(`"${o.record}" is not a record id (0x + 64 hex digits)`, 'INVALID_RECORD_ID');
    return { record: o.record.toLowerCase() as Hex };
  }
  if (o.category) {
    if (!isCategory(o.category))
      throw new CliError(`unknown category "${o.category}" (use ${CATEGORIES.join(', ')})`, 'INVALID_SCOPE');
    return { category: o.category };
  }
  throw new CliError('say what to share: --record <id> or --category <name>', 'INVALID_SCOPE');
}

function purposeOf(o: ScopeOptions): ReadPurpose {
  const p = o.purpose ?? 'care';
  if (p !== 'care' && p !== 'research')
    throw new CliError('--purpose must be care or research', 'INVALID_PURPOSE');
  return p;
}

function accountOf(a: string): Address {
  if (!isAddress(a)) throw new CliError(`"${a}" is not an address`, 'INVALID_ADDRESS');
  return getAddress(a);
}

export async function grant(grantee: string, o: ScopeOptions) {
  const scope = target(o);
  const purpose = purposeOf(o);
  let expiresAt: Date | undefined;
  if (o.expires) {
    expiresAt = new Date(o.expires);
    if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())
      throw new CliError(`--expires "${o.expires}" is not a future date`, 'INVALID_EXPIRY');
  }
  const client = await clientFor(o);
  const out = await client.grant({
    grantee: accountOf(grantee),
    purpose,
    ...scope,
    ...(o.for ? { owner: accountOf(o.for) } : {}),
    ...(expiresAt ? { expiresAt } : {}),
  });
  const what = 'record' in scope ? `record ${scope.record}` : `your ${scope.category}`;
  print(
    o,
    { grantee: accountOf(grantee), purpose, ...scope, ...out },
    `Granted ${accountOf(grantee)} ${purpose} access to ${what}${expiresAt ? ` until ${expiresAt.toISOString()}` : ''} (tx ${out.txHash})`,
  );
}

export async function revoke(grantee: string, o: ScopeOptions) {
  const scope = target(o);
  const purpose = purposeOf(o);
  const client = await clientFor(o);
  const out = await client.revoke({
    grantee: accountOf(grantee),
    purpose,
    ...scope,
    ...(o.for ? { owner: accountOf(o.for) } : {}),
  });
  const what = 'record' in scope ? `record ${scope.record}` : `your ${scope.category}`;
  print(
    o,
    { grantee: accountOf(grantee), purpose, ...scope, ...out },
    `Revoked ${accountOf(grantee)}'s ${purpose} access to ${what} (tx ${out.txHash})${
      out.epoch !== undefined
        ? `; new scope key (epoch ${out.epoch}), ${out.regranted} other grantee(s) kept`
        : ''
    }`,
  );
}

export async function list(o: GlobalOptions & { received?: boolean; all?: boolean }) {
  const client = await clientFor(o);
  const grants = (await client.grants({ as: o.received ? 'grantee' : 'owner' })).filter(
    (g) => o.all || g.live,
  );
  print(o, grants, () => {
    if (grants.length === 0) return o.all ? 'No grants.' : 'No live grants.';
    const lines = grants.map((g) => {
      const what =
        g.kind === 'record'
          ? `record ${g.scope.slice(0, 18)}…`
          : `category ${g.category ?? g.scope.slice(0, 18)}`;
      const who = o.received ? `from ${g.owner}` : `to ${g.grantee}`;
      const until = g.expiresAt ? new Date(g.expiresAt * 1000).toISOString().slice(0, 16) : 'revoked';
      const state = g.live ? `until ${g.expiresAt ? until : 'revoked'}` : g.revoked ? 'revoked' : 'lapsed';
      return `${g.purpose.padEnd(8)} ${what.padEnd(30)} ${who}  ${state}`;
    });
    return [...lines, `${grants.length} grant(s)`].join('\n');
  });
}
