/**
 * Operator seat on the authority council: seating a new authority as a council member. The AuthorityCouncil has no
 * signature-relayed path (its members act as `msg.sender`), so this sends the operator's own transactions: a
 * proposal to add the authority, executed at once when the operator's approval alone meets the threshold (the
 * embedded default: the operator is the only member, threshold 1). Otherwise the proposal waits for other members.
 */
import { authorityCouncilAbi } from '@medbloc/contracts';
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  type PublicClient,
  parseEventLogs,
  type Transport,
  type WalletClient,
} from 'viem';
import { waitForSuccess } from './deploy.ts';

export interface JoinCouncilParameters {
  publicClient: PublicClient;
  /** A council member (the deployment admin on the embedded chain). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  council: Address;
  authority: Address;
}

/**
 * Makes `authority` a council member (which also grants it AUTHORITY_ROLE on the registry). Returns `seated` when it
 * is a member now, or the open proposal's id when more approvals are needed; a no-op for a member or when the
 * wallet is not a member itself (`skipped`).
 */
export async function joinCouncil({
  publicClient,
  walletClient,
  council,
  authority,
}: JoinCouncilParameters): Promise<
  { status: 'seated' } | { status: 'proposed'; proposalId: bigint } | { status: 'skipped' }
> {
  const c = { address: council, abi: authorityCouncilAbi as Abi };
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    publicClient.readContract({ ...c, functionName, args } as never) as Promise<T>;
  if (await read<boolean>('isAuthority', [authority])) return { status: 'seated' };
  if (!(await read<boolean>('isAuthority', [walletClient.account.address]))) return { status: 'skipped' };
  const send = async (functionName: string, args: readonly unknown[], what: string) => {
    const { request } = await publicClient.simulateContract({
      ...c,
      functionName,
      args,
      account: walletClient.account,
    } as never);
    return waitForSuccess(publicClient, await walletClient.writeContract(request as never), what);
  };
  const receipt = await send('proposeAddAuthority', [authority], 'proposing a council member');
  const [created] = parseEventLogs({
    abi: authorityCouncilAbi,
    logs: receipt.logs,
    eventName: 'ProposalCreated',
  });
  const proposalId = (created!.args as { proposalId: bigint }).proposalId;
  const [approvals, threshold] = await Promise.all([
    read<bigint>('approvalCount', [proposalId]),
    read<bigint>('threshold'),
  ]);
  if (approvals < threshold) return { status: 'proposed', proposalId };
  await send('execute', [proposalId], 'seating a council member');
  return { status: 'seated' };
}
