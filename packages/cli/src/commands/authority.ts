/** `medbloc authority certify|revoke` (signed by an authority identity) and `medbloc admin add-authority`. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { grantAuthority, loadConfig, nodeFiles } from '@medbloc/node';
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
  o: GlobalOptions & { role?: string; expires?: string; credential?: string },
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
  let info: { rpcUrl: string; accountRegistry: Address };
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
  await grantAuthority({
    publicClient: createPublicClient({ transport }),
    walletClient: createWalletClient({ account: privateKeyToAccount(key), transport }),
    accountRegistry: info.accountRegistry,
    authority,
  });
  print(o, { authority }, `${authority} is now an authority`);
}
