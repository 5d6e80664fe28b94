/**
 * `medbloc authority certify|revoke` (signed by an authority identity, relayed by the node), the council's proposals
 * `authority add|remove|approve|proposals|params` (sent with the authority's own key and gas: the AuthorityCouncil
 * has no relayed path), and `medbloc admin add-authority` (the node operator, on the node machine).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { grantAuthority, joinCouncil, loadConfig, nodeFiles } from '@medbloc/node';
import {
  type Address,
  createPublicClient,
  createWalletClient,
  getAddress,
  type Hex,
  http,
  isAddress,
  keccak256,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';

function addressArg(a: string): Address {
  if (!isAddress(a)) throw new CliError(`"${a}" is not an address`, 'INVALID_ADDRESS');
  return getAddress(a);
}

function roleArg(r = 'provider'): 'provider' | 'researcher' {
  if (r !== 'provider' && r !== 'researcher')
    throw new CliError(`role must be provider or researcher, not "${r}"`, 'INVALID_ROLE');
  return r;
}

export async function certify(
  address: string,
  o: GlobalOptions & { role?: string; expires?: string; credential?: string; council?: boolean },
) {
  const account = addressArg(address);
  const role = roleArg(o.role);
  let expiresAt: Date | undefined;
  if (o.expires) {
    expiresAt = new Date(o.expires);
    if (Number.isNaN(expiresAt.getTime()) || expiresAt <= new Date())
      throw new CliError('--expires must be a future date (YYYY-MM-DD)', 'INVALID_DATE');
  }
  let credential = o.credential;
  if (credential && (await readFile(credential).catch(() => undefined))) {
    credential = keccak256(await readFile(credential));
  }
  const client = await clientFor(o);
  if (o.council) {
    const out = await client.councilCertify(account, {
      role,
      ...(credential ? { credential } : {}),
      ...(expiresAt ? { expiresAt } : {}),
    });
    print(
      o,
      { account, role, ...out },
      `Certified ${account} as ${role} through the authority council (tx ${out.txHash}); it receives the MP certification reward`,
    );
    return;
  }
  const out = await client.certify(account, {
    role,
    ...(credential ? { credential } : {}),
    ...(expiresAt ? { expiresAt } : {}),
  });
  print(o, { account, role, ...out }, `Certified ${account} as ${role} (tx ${out.txHash})`);
}

export async function revoke(address: string, o: GlobalOptions & { role?: string }) {
  const account = addressArg(address);
  const role = roleArg(o.role);
  const client = await clientFor(o);
  const out = await client.revokeCertification(account, role);
  print(o, { account, role, ...out }, `Revoked ${account}'s ${role} certification (tx ${out.txHash})`);
}

/**
 * Operator action on the node's own machine: grants the authority role with the deployment admin key. On the
 * embedded chain the admin is the node's development operator account.
 */
export async function addAuthority(address: string, o: GlobalOptions & { home?: string }) {
  const authority = addressArg(address);
  const config = loadConfig(process.env, o.home ? { home: path.resolve(o.home) } : {});
  const files = nodeFiles(config.home);
  let info: { rpcUrl: string; accountRegistry: Address; council: Address };
  try {
    info = JSON.parse(await readFile(files.info, 'utf8'));
  } catch {
    throw new CliError(
      `no running node found in ${config.home} (start it with "medbloc node start")`,
      'NO_NODE',
    );
  }
  const key = (config.operatorKey ??
    '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80') as Hex;
  const transport = http(info.rpcUrl);
  const publicClient = createPublicClient({ transport });
  const walletClient = createWalletClient({ account: privateKeyToAccount(key), transport });
  await grantAuthority({ publicClient, walletClient, accountRegistry: info.accountRegistry, authority });
  const seat = await joinCouncil({ publicClient, walletClient, council: info.council, authority });
  print(
    o,
    { authority, council: seat },
    `${authority} is now an authority${seat.status === 'seated' ? ' and a member of the authority council' : seat.status === 'proposed' ? ` (council seat proposed: #${seat.proposalId}, awaiting approvals)` : ''}`,
  );
}

function proposalLine(r: { proposalId: number; executed: boolean; approvals: number; threshold: number }) {
  return r.executed
    ? `executed (${r.approvals} of ${r.threshold} approvals)`
    : `open: ${r.approvals} of ${r.threshold} approvals — other members run "medbloc authority approve ${r.proposalId}"`;
}

/** A council member proposes adding an authority; executed at once when its approval meets the threshold. */
export async function add(address: string, o: GlobalOptions) {
  const authority = addressArg(address);
  const client = await clientFor(o);
  const out = await client.proposeAddAuthority(authority);
  print(o, { authority, ...out }, `Proposal #${out.proposalId} to add ${authority}: ${proposalLine(out)}`);
}

export async function remove(address: string, o: GlobalOptions) {
  const authority = addressArg(address);
  const client = await clientFor(o);
  const out = await client.proposeRemoveAuthority(authority);
  print(o, { authority, ...out }, `Proposal #${out.proposalId} to remove ${authority}: ${proposalLine(out)}`);
}

export async function approve(id: string, o: GlobalOptions) {
  if (!/^\d+$/.test(id)) throw new CliError(`"${id}" is not a proposal id`, 'INVALID_ID');
  const client = await clientFor(o);
  const out = await client.approveProposal(Number(id));
  print(o, out, `Proposal #${id}: ${proposalLine(out)}`);
}

export async function proposals(o: GlobalOptions) {
  const list = await (await import('./cert.ts')).readerFor(o).councilProposals();
  print(o, list, () =>
    list.length === 0
      ? 'No proposals.'
      : list
          .map(
            (p) =>
              `#${p.proposalId} ${p.kind} by ${p.proposer} — ${p.executed ? 'executed' : 'open'}, approved by ${p.approvals.join(', ') || 'nobody'}`,
          )
          .join('\n'),
  );
}

const PARAMS = ['reviewSize', 'quorum', 'commitWindow', 'revealWindow'] as const;

/** Shows the certification parameters, or proposes changing some (`--commit-window 60 --review-size 3`). */
export async function params(
  o: GlobalOptions & { reviewSize?: string; quorum?: string; commitWindow?: string; revealWindow?: string },
) {
  const changes: Record<string, number> = {};
  for (const key of PARAMS) {
    const name = key;
    const v = o[key];
    if (v === undefined) continue;
    if (!/^\d+$/.test(v) || Number(v) === 0)
      throw new CliError(
        `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer`,
        'INVALID_PARAMETER',
      );
    changes[name] = Number(v);
  }
  if (Object.keys(changes).length === 0) {
    const p = await (await import('./cert.ts')).readerFor(o).certificationParameters();
    print(o, p, () =>
      [
        `council: ${p.authorities.length} authorities, threshold ${p.threshold}`,
        ...Object.entries(p.parameters).map(([k, v]) => `  ${k} ${v}`),
      ].join('\n'),
    );
    return;
  }
  const client = await clientFor(o);
  const out = await client.proposeParameters(changes);
  print(
    o,
    { changes, ...out },
    `Proposal #${out.proposalId} to set ${Object.entries(changes)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}: ${proposalLine(out)}`,
  );
}
