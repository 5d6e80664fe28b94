/**
 * Test fixture: a fresh anvil, the contracts deployed by the admin (anvil's first account, which also relays every
 * signed authorisation as a node would), and helpers to sign MedBloc typed data as users do.
 */
import { accountRegistryAbi, recordRegistryAbi } from '@medbloc/contracts';
import {
  type AnchorFields,
  anchorBatchTypes,
  anchorRecordTypes,
  certifyTypes,
  domainFor,
  registerTypes,
  revokeCertificationTypes,
} from '@medbloc/core';
import { deployConsent, deployMedBloc, grantAuthority, startAnvil } from '@medbloc/node';
import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  type PrivateKeyAccount,
  type TransactionReceipt,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

/** anvil's well-known development keys (funded): admin/relayer, and a second funded sender. */
export const ADMIN_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const FUNDED_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

export const HOUR = 3600n;

export function newUser(): PrivateKeyAccount {
  return privateKeyToAccount(generatePrivateKey());
}

export function randomHash(): Hex {
  return generatePrivateKey(); // 32 random bytes
}

export async function setup() {
  const anvil = await startAnvil();
  const transport = http(anvil.rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: 20, cacheTime: 0 });
  const admin = privateKeyToAccount(ADMIN_KEY);
  const walletClient = createWalletClient({ account: admin, transport });
  const testClient = createTestClient({ mode: 'anvil', transport });
  const d = await deployMedBloc({ publicClient, walletClient });
  const accounts = { address: d.accountRegistry, abi: accountRegistryAbi } as const;
  const records = { address: d.recordRegistry, abi: recordRegistryAbi } as const;
  const accountsDomain = domainFor(d.chainId, d.accountRegistry);
  const recordsDomain = domainFor(d.chainId, d.recordRegistry);

  /** Sends as `from` (default: the admin relayer); simulates first so reverts come back with their error name. */
  async function send(
    contract: { address: Address; abi: Abi },
    functionName: string,
    args: readonly unknown[],
    from: PrivateKeyAccount = admin,
  ): Promise<TransactionReceipt> {
    const { request } = await publicClient.simulateContract({
      ...contract,
      functionName,
      args,
      account: from,
    } as never);
    const wallet = from === admin ? walletClient : createWalletClient({ account: from, transport });
    const hash = await wallet.writeContract(request as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    if (receipt.status !== 'success') throw new Error(`${functionName} reverted on chain`);
    return receipt;
  }

  function read<T>(
    contract: { address: Address; abi: Abi },
    functionName: string,
    args: readonly unknown[] = [],
  ) {
    return publicClient.readContract({ ...contract, functionName, args } as never) as Promise<T>;
  }

  async function now(): Promise<bigint> {
    return (await publicClient.getBlock()).timestamp;
  }

  async function deadline(): Promise<bigint> {
    return (await now()) + HOUR;
  }

  async function nonceOf(contract: { address: Address; abi: Abi }, who: Address): Promise<bigint> {
    return read<bigint>(contract, 'nonces', [who]);
  }

  async function signRegister(
    signer: PrivateKeyAccount,
    m: { account?: Address; encryptionKey?: Hex; roles: number; nonce?: bigint; deadline?: bigint },
  ) {
    const account = m.account ?? signer.address;
    const message = {
      account,
      encryptionKey: m.encryptionKey ?? randomHash(),
      roles: m.roles,
      nonce: m.nonce ?? (await nonceOf(accounts, account)),
      deadline: m.deadline ?? (await deadline()),
    };
    const signature = await signer.signTypedData({
      domain: accountsDomain,
      types: registerTypes,
      primaryType: 'Register',
      message,
    });
    return {
      ...message,
      signature,
      args: [account, message.encryptionKey, m.roles, message.deadline, signature],
    };
  }

  async function register(user: PrivateKeyAccount, roles: number) {
    const s = await signRegister(user, { roles });
    await send(accounts, 'registerBySig', s.args);
    return s;
  }

  async function signCertify(
    signer: PrivateKeyAccount,
    m: { account: Address; role: number; expiresAt: bigint; authority?: Address; deadline?: bigint },
  ) {
    const authority = m.authority ?? signer.address;
    const message = {
      account: m.account,
      role: m.role,
      credentialHash: randomHash(),
      expiresAt: m.expiresAt,
      nonce: await nonceOf(accounts, authority),
      deadline: m.deadline ?? (await deadline()),
    };
    const signature = await signer.signTypedData({
      domain: accountsDomain,
      types: certifyTypes,
      primaryType: 'Certify',
      message,
    });
    const args = [
      m.account,
      m.role,
      message.credentialHash,
      m.expiresAt,
      authority,
      message.deadline,
      signature,
    ];
    return { ...message, signature, args };
  }

  async function certify(
    authority: PrivateKeyAccount,
    account: Address,
    role: number,
    validFor = 365n * 24n * HOUR,
  ) {
    const s = await signCertify(authority, { account, role, expiresAt: (await now()) + validFor });
    await send(accounts, 'certifyBySig', s.args);
    return s;
  }

  async function signRevoke(
    signer: PrivateKeyAccount,
    m: { account: Address; role: number; authority?: Address },
  ) {
    const authority = m.authority ?? signer.address;
    const message = {
      account: m.account,
      role: m.role,
      nonce: await nonceOf(accounts, authority),
      deadline: await deadline(),
    };
    const signature = await signer.signTypedData({
      domain: accountsDomain,
      types: revokeCertificationTypes,
      primaryType: 'RevokeCertification',
      message,
    });
    return { ...message, signature, args: [m.account, m.role, authority, message.deadline, signature] };
  }

  async function signAnchor(signer: PrivateKeyAccount, a: AnchorFields, opts: { deadline?: bigint } = {}) {
    const message = {
      ...a,
      nonce: await nonceOf(records, a.creator),
      deadline: opts.deadline ?? (await deadline()),
    };
    const signature = await signer.signTypedData({
      domain: recordsDomain,
      types: anchorRecordTypes,
      primaryType: 'AnchorRecord',
      message,
    });
    const args = [a.owner, a.creator, a.digest, a.keyCommitment, a.supersedes, message.deadline, signature];
    return { ...message, signature, args };
  }

  async function signBatch(
    signer: PrivateKeyAccount,
    b: { creator?: Address; root: Hex; count: number; manifest: Hex },
  ) {
    const creator = b.creator ?? signer.address;
    const message = {
      creator,
      root: b.root,
      count: b.count,
      manifest: b.manifest,
      nonce: await nonceOf(records, creator),
      deadline: await deadline(),
    };
    const signature = await signer.signTypedData({
      domain: recordsDomain,
      types: anchorBatchTypes,
      primaryType: 'AnchorBatch',
      message,
    });
    return {
      ...message,
      signature,
      args: [creator, b.root, b.count, b.manifest, message.deadline, signature],
    };
  }

  /** Moves chain time forward and mines a block, so views see the new time. */
  async function advance(seconds: bigint) {
    await testClient.increaseTime({ seconds: Number(seconds) });
    await testClient.mine({ blocks: 1 });
  }

  async function addAuthority(): Promise<PrivateKeyAccount> {
    const authority = newUser();
    await grantAuthority({
      publicClient,
      walletClient,
      accountRegistry: d.accountRegistry,
      authority: authority.address,
    });
    return authority;
  }

  /** Deploys the consent layer (ConsentRegistry, Delegation, AccessLog, EmergencyAccess) as the node does. */
  function deployConsentLayer() {
    return deployConsent({
      publicClient,
      walletClient,
      accountRegistry: d.accountRegistry,
      recordRegistry: d.recordRegistry,
    });
  }

  return {
    anvil,
    deployment: d,
    walletClient,
    publicClient,
    admin,
    accounts,
    records,
    accountsDomain,
    recordsDomain,
    send,
    read,
    now,
    deadline,
    nonceOf,
    signRegister,
    register,
    signCertify,
    certify,
    signRevoke,
    signAnchor,
    signBatch,
    advance,
    addAuthority,
    deployConsent: deployConsentLayer,
    stop: () => anvil.stop(),
  };
}

export type Fixture = Awaited<ReturnType<typeof setup>>;

/** The custom error a call reverted with (from simulation), or undefined. */
export function errorName(err: unknown): string | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert.data?.errorName : undefined;
}

/** assert.rejects predicate: the call reverted with custom error `name`. */
export function revertsWith(name: string) {
  return (err: unknown) => {
    const actual = errorName(err);
    if (actual !== name) throw new Error(`expected revert ${name}, got ${actual ?? String(err)}`);
    return true;
  };
}
