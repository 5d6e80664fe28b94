/**
 * The node's view of the chain: read clients for both contracts and the relayer that submits users' signed
 * authorisations (EIP-712) as the operator, so users need no gas. Writes are simulated first, so a contract's
 * custom error comes back as a typed NodeError with a stable code, and nothing is sent that would revert.
 */
import {
  accessLogAbi,
  accountRegistryAbi,
  consentRegistryAbi,
  delegationAbi,
  emergencyAccessAbi,
  recordRegistryAbi,
} from '@medbloc/contracts';
import { domainFor } from '@medbloc/core';
import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type TransactionReceipt,
  type Transport,
  webSocket,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { NodeError } from '../errors.ts';

export interface Deployment {
  chainId: number;
  accountRegistry: Address;
  recordRegistry: Address;
  /** Patient control: delegates, consent grants, access-log roots, break-glass requests. */
  delegation: Address;
  consentRegistry: Address;
  accessLog: Address;
  emergencyAccess: Address;
  /** Certification: MED token, MP points, the authority council, staked peer review. */
  medToken: Address;
  mpPoints: Address;
  council: Address;
  peerReview: Address;
  deployBlock: string;
  admin: Address;
}

/** Contract custom errors → our stable codes. */
const REVERT_CODES: [RegExp, string][] = [
  [/Expired/i, 'SIGNATURE_EXPIRED'],
  [/InvalidSign|InvalidSigner|ECDSA/i, 'INVALID_SIGNATURE'],
  [/NotCertified|Uncertified/i, 'NOT_CERTIFIED'],
  [/NotAuthority|AccessControl/i, 'NOT_AUTHORITY'],
  [/GranteeNotCertified/i, 'NOT_CERTIFIED'],
  [/NotGranted/i, 'GRANT_NOT_FOUND'],
  [/UnauthorizedSigner|NotDelegate/i, 'FORBIDDEN'],
  [
    /InvalidGrantee|InvalidScope|InvalidPurpose|InvalidExpiry|InvalidDelegate|InvalidKind|InvalidReason/i,
    'INVALID_BODY',
  ],
  [/PatientNotRegistered/i, 'NOT_REGISTERED'],
  [/Exists|Already(Anchored|Exists)|Duplicate/i, 'RECORD_EXISTS'],
  [/Supersede/i, 'SUPERSEDED_UNKNOWN'],
  [/NotRegistered|Unregistered|UnknownAccount/i, 'NOT_REGISTERED'],
];

export function revertToError(err: unknown): NodeError {
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const name = revert.data?.errorName ?? revert.reason ?? 'reverted';
      const code = REVERT_CODES.find(([re]) => re.test(name))?.[1] ?? 'CHAIN_REVERTED';
      return new NodeError(code, `the chain refused it: ${name}`, { contractError: name }, { cause: err });
    }
    return new NodeError('CHAIN_UNAVAILABLE', `chain request failed: ${err.shortMessage}`, undefined, {
      cause: err,
    });
  }
  return new NodeError('CHAIN_UNAVAILABLE', `chain request failed: ${String(err)}`, undefined, {
    cause: err,
  });
}

export type Chain = ReturnType<typeof createChain>;

/**
 * The node's connection to the chain: a WebSocket for a ws:// endpoint (how the node reaches its embedded chain; a
 * call costs about a fifth of the CPU of one made with HTTP fetch, and anchoring makes several per batch), HTTP
 * otherwise.
 */
function transportFor(rpcUrl: string): Transport {
  return /^wss?:\/\//i.test(rpcUrl)
    ? oneAtATime(webSocket(rpcUrl, { retryCount: 2 }))
    : http(rpcUrl, { batch: false, retryCount: 2 });
}

/**
 * Sends the transport's requests one at a time. Over a WebSocket, anvil answers a request that arrives while another
 * is outstanding some 30–40 ms late (small writes held back on its side), where one at a time takes ~0.1 ms.
 */
function oneAtATime(transport: Transport): Transport {
  let last: Promise<unknown> = Promise.resolve();
  return (params) => {
    const t = transport(params);
    type Request = typeof t.request;
    const request = ((args: Parameters<Request>[0], options?: Parameters<Request>[1]) => {
      const result = last.then(() => t.request(args, options));
      last = result.catch(() => undefined);
      return result;
    }) as Request;
    return { ...t, request };
  };
}

export function createChain(opts: { rpcUrl: string; operatorKey: Hex; deployment: Deployment }) {
  const { deployment } = opts;
  const transport = transportFor(opts.rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: 50 });
  const account = privateKeyToAccount(opts.operatorKey);
  const walletClient = createWalletClient({ account, transport });
  let sendQueue: Promise<unknown> = Promise.resolve();

  /** Simulates, then sends (one at a time, so operator nonces stay in order), then waits for the receipt. */
  async function relay(call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] }) {
    let request: Parameters<typeof walletClient.writeContract>[0];
    try {
      const sim = await publicClient.simulateContract({ ...call, account } as never);
      request = (sim as { request: typeof request }).request;
    } catch (err) {
      throw revertToError(err);
    }
    const send = sendQueue.then(() => walletClient.writeContract(request));
    sendQueue = send.catch(() => undefined);
    let hash: Hex;
    try {
      hash = await send;
    } catch (err) {
      throw revertToError(err);
    }
    // A chain that mines on arrival (the embedded anvil) has the receipt already; otherwise wait for the block.
    const receipt: TransactionReceipt = await publicClient
      .getTransactionReceipt({ hash })
      .catch(() => publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 }));
    if (receipt.status !== 'success') throw new NodeError('CHAIN_REVERTED', `transaction ${hash} reverted`);
    return receipt;
  }

  const accounts = { address: deployment.accountRegistry, abi: accountRegistryAbi } as const;
  const records = { address: deployment.recordRegistry, abi: recordRegistryAbi } as const;
  const consent = { address: deployment.consentRegistry, abi: consentRegistryAbi } as const;
  const delegation = { address: deployment.delegation, abi: delegationAbi } as const;
  const accessLog = { address: deployment.accessLog, abi: accessLogAbi } as const;
  const emergency = { address: deployment.emergencyAccess, abi: emergencyAccessAbi } as const;

  return {
    publicClient,
    /** Closes the connection (a WebSocket would otherwise keep the process alive). */
    async close() {
      const t = publicClient.transport as { getRpcClient?: () => Promise<{ close(): void }> };
      if (t.getRpcClient) (await t.getRpcClient()).close();
    },
    operator: account.address,
    deployment,
    relay,
    /** The EIP-712 domain of one of the deployment's contracts. */
    domain(contract: 'consentRegistry' | 'accessLog' | 'emergencyAccess' | 'delegation') {
      return domainFor(deployment.chainId, deployment[contract]);
    },
    contracts: { accounts, records, consent, delegation, accessLog, emergency },
    read<T>(
      c: { address: Address; abi: Abi },
      functionName: string,
      args: readonly unknown[] = [],
    ): Promise<T> {
      return publicClient
        .readContract({ address: c.address, abi: c.abi, functionName, args } as never)
        .catch((err: unknown) => {
          throw revertToError(err);
        }) as Promise<T>;
    },
  };
}
