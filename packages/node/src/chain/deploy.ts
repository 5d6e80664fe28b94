/**
 * Deployment of the MedBloc contracts from the generated artifacts, and the admin's grant of the authority role.
 * The wallet client's account becomes the AccountRegistry admin (DEFAULT_ADMIN_ROLE).
 */
import {
  accountRegistryAbi,
  accountRegistryBytecode,
  recordRegistryAbi,
  recordRegistryBytecode,
} from '@medbloc/contracts';
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  getAddress,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { NodeError } from '../errors.ts';

export interface DeployMedBlocParameters {
  publicClient: PublicClient;
  /** Its account pays for the deployment and becomes the admin. */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
}

export interface DeployMedBlocReturnType {
  chainId: number;
  accountRegistry: Address;
  recordRegistry: Address;
  /** The block of the first deployment transaction: indexers start here. */
  deployBlock: bigint;
  admin: Address;
}

type Wallet = WalletClient<Transport, Chain | undefined, Account>;

/** Waits for a transaction and fails with CHAIN_REVERTED unless it succeeded. */
export async function waitForSuccess(publicClient: PublicClient, hash: Hash, what: string) {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success')
    throw new NodeError('CHAIN_REVERTED', `${what} failed in transaction ${hash}`);
  return receipt;
}

/** Deploys one contract from its generated artifacts; returns its address and the block it landed in. */
export async function deployContract(
  clients: { publicClient: PublicClient; walletClient: Wallet },
  what: string,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[] = [],
) {
  const { publicClient, walletClient } = clients;
  const hash = await walletClient.deployContract({
    abi,
    bytecode,
    args,
    chain: walletClient.chain ?? null,
  } as never);
  const receipt = await waitForSuccess(publicClient, hash, `deploying ${what}`);
  if (!receipt.contractAddress)
    throw new NodeError('CHAIN_REVERTED', `deploying ${what} created no contract`);
  return { address: getAddress(receipt.contractAddress), block: receipt.blockNumber };
}

/**
 * Deploys AccountRegistry (admin: the wallet's account) and RecordRegistry (bound to it).
 * @example
 * const d = await deployMedBloc({ publicClient, walletClient });
 * await grantAuthority({ publicClient, walletClient, accountRegistry: d.accountRegistry, authority: board });
 */
export async function deployMedBloc({
  publicClient,
  walletClient,
}: DeployMedBlocParameters): Promise<DeployMedBlocReturnType> {
  const admin = walletClient.account.address;
  const chainId = await publicClient.getChainId();
  const clients = { publicClient, walletClient };
  const accounts = await deployContract(
    clients,
    'AccountRegistry',
    accountRegistryAbi,
    accountRegistryBytecode,
    [admin],
  );
  const records = await deployContract(clients, 'RecordRegistry', recordRegistryAbi, recordRegistryBytecode, [
    accounts.address,
  ]);
  return {
    chainId,
    accountRegistry: accounts.address,
    recordRegistry: records.address,
    deployBlock: accounts.block,
    admin,
  };
}

export interface GrantAuthorityParameters {
  publicClient: PublicClient;
  /** Must hold DEFAULT_ADMIN_ROLE on the registry. */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  accountRegistry: Address;
  authority: Address;
}

/** Grants AUTHORITY_ROLE to `authority` (a no-op if it holds it) and waits for the receipt. */
export async function grantAuthority({
  publicClient,
  walletClient,
  accountRegistry,
  authority,
}: GrantAuthorityParameters): Promise<void> {
  const registry = { address: accountRegistry, abi: accountRegistryAbi } as const;
  const role = await publicClient.readContract({ ...registry, functionName: 'AUTHORITY_ROLE' });
  if (await publicClient.readContract({ ...registry, functionName: 'hasRole', args: [role, authority] }))
    return;
  const { request } = await publicClient.simulateContract({
    ...registry,
    functionName: 'grantRole',
    args: [role, authority],
    account: walletClient.account,
  });
  await waitForSuccess(
    publicClient,
    await walletClient.writeContract(request),
    'granting the authority role',
  );
}
