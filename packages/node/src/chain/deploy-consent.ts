/**
 * Deployment of the consent contracts (Delegation, ConsentRegistry, AccessLog, EmergencyAccess) next to an existing
 * AccountRegistry and RecordRegistry, binding RecordRegistry to Delegation so delegates may write for their patients.
 * The wallet client's account must be an admin (DEFAULT_ADMIN_ROLE) of the AccountRegistry; it becomes the AccessLog
 * admin and, by default, its first node (NODE_ROLE).
 */
import {
  accessLogAbi,
  accessLogBytecode,
  consentRegistryAbi,
  consentRegistryBytecode,
  delegationAbi,
  delegationBytecode,
  emergencyAccessAbi,
  emergencyAccessBytecode,
  recordRegistryAbi,
} from '@medbloc/contracts';
import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from 'viem';
import { deployContract, waitForSuccess } from './deploy.ts';

export interface DeployConsentParameters {
  publicClient: PublicClient;
  /** Pays for the deployment; must be an AccountRegistry admin (it sets RecordRegistry's Delegation). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  accountRegistry: Address;
  recordRegistry: Address;
  /** The node granted NODE_ROLE on AccessLog. Default: the wallet's account (the embedded node's operator). */
  nodeOperator?: Address;
}

export interface DeployConsentReturnType {
  delegation: Address;
  consentRegistry: Address;
  accessLog: Address;
  emergencyAccess: Address;
  /** The block of the first deployment transaction: indexers of these contracts start here. */
  deployBlock: bigint;
}

/**
 * Deploys the consent contracts, points RecordRegistry at Delegation (once) and grants NODE_ROLE on AccessLog.
 * @example
 * const d = await deployMedBloc({ publicClient, walletClient });
 * const c = await deployConsent({ publicClient, walletClient, ...d });
 */
export async function deployConsent({
  publicClient,
  walletClient,
  accountRegistry,
  recordRegistry,
  nodeOperator,
}: DeployConsentParameters): Promise<DeployConsentReturnType> {
  const admin = walletClient.account.address;
  const clients = { publicClient, walletClient };
  const delegation = await deployContract(clients, 'Delegation', delegationAbi, delegationBytecode);
  const consent = await deployContract(
    clients,
    'ConsentRegistry',
    consentRegistryAbi,
    consentRegistryBytecode,
    [accountRegistry, delegation.address],
  );
  const accessLog = await deployContract(clients, 'AccessLog', accessLogAbi, accessLogBytecode, [admin]);
  const emergency = await deployContract(
    clients,
    'EmergencyAccess',
    emergencyAccessAbi,
    emergencyAccessBytecode,
    [accountRegistry],
  );

  const { request: setDelegation } = await publicClient.simulateContract({
    address: recordRegistry,
    abi: recordRegistryAbi,
    functionName: 'setDelegation',
    args: [delegation.address],
    account: walletClient.account,
  });
  await waitForSuccess(
    publicClient,
    await walletClient.writeContract(setDelegation),
    'setting the Delegation of RecordRegistry',
  );
  await grantNodeRole({
    publicClient,
    walletClient,
    accessLog: accessLog.address,
    node: nodeOperator ?? admin,
  });

  return {
    delegation: delegation.address,
    consentRegistry: consent.address,
    accessLog: accessLog.address,
    emergencyAccess: emergency.address,
    deployBlock: delegation.block,
  };
}

export interface GrantNodeRoleParameters {
  publicClient: PublicClient;
  /** Must hold DEFAULT_ADMIN_ROLE on the AccessLog. */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  accessLog: Address;
  node: Address;
}

/** Grants NODE_ROLE on AccessLog to `node` (a no-op if it holds it) and waits for the receipt. */
export async function grantNodeRole({
  publicClient,
  walletClient,
  accessLog,
  node,
}: GrantNodeRoleParameters): Promise<void> {
  const log = { address: accessLog, abi: accessLogAbi } as const;
  const role = await publicClient.readContract({ ...log, functionName: 'NODE_ROLE' });
  if (await publicClient.readContract({ ...log, functionName: 'hasRole', args: [role, node] })) return;
  const { request } = await publicClient.simulateContract({
    ...log,
    functionName: 'grantRole',
    args: [role, node],
    account: walletClient.account,
  });
  await waitForSuccess(publicClient, await walletClient.writeContract(request), 'granting the node role');
}
