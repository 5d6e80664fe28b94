/**
 * The node's check of a signed authorisation before relaying it: not past its deadline, and carrying exactly the
 * signer's next nonce on the contract — so a replay or an expired signature is refused with a specific problem
 * instead of a reverted transaction.
 */
import { NodeError } from '../errors.ts';

export async function checkSignatureWindow(s: {
  nonce: bigint;
  deadline: bigint;
  /** The next nonce the contract expects. */
  current: () => Promise<bigint>;
  /** Whose nonce, for messages ("0xabc…", "the grant"). */
  whose: string;
}) {
  checkDeadline(s.deadline);
  const current = await s.current();
  if (s.nonce < current)
    throw new NodeError('SIGNATURE_REPLAYED', `nonce ${s.nonce} of ${s.whose} was already used`);
  if (s.nonce > current) {
    throw new NodeError(
      'INVALID_SIGNATURE',
      `nonce ${s.nonce} is ahead of ${s.whose}'s next nonce ${current}`,
    );
  }
}

/** Refuses a signature past its deadline (unix seconds). */
export function checkDeadline(deadline: bigint) {
  if (deadline <= BigInt(Math.floor(Date.now() / 1000))) {
    throw new NodeError(
      'SIGNATURE_EXPIRED',
      `the signature expired at ${new Date(Number(deadline) * 1000).toISOString()}`,
    );
  }
}
