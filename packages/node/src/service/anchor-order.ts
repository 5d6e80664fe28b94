/**
 * Anchor ordering: each creator's signed record anchors (single or batch; they share one nonce on the contract) are
 * relayed in nonce order, so a client may have several in flight at once — it signs consecutive nonces without
 * waiting for each to be mined, and its requests may reach the node out of order.
 *
 * An anchor announces its nonce when it arrives (`reserve`) and relays through its ticket (`relay`) once checked. A
 * relay waits until every lower nonce of the same creator has been relayed. It is refused with NONCE_OUT_OF_ORDER
 * when a lower nonce it waits for is refused, or has not arrived within `arrivalMs`; the client signs it again. A nonce
 * the chain has used already is SIGNATURE_REPLAYED. A creator's lane forgets everything once idle (the chain is asked
 * again), so anchors relayed by other nodes are never shadowed.
 */
import type { Address } from 'viem';
import { NodeError } from '../errors.ts';

export interface AnchorTicket {
  /** Runs `fn` (the relay) when every lower nonce of this creator has been relayed; one call per ticket. */
  relay<T>(fn: () => Promise<T>): Promise<T>;
  /** Withdraws the nonce unrelayed (the anchor was refused before relaying); anchors waiting on it are refused. */
  cancel(): void;
}

interface Waiter {
  nonce: bigint;
  wake: () => void;
  fail: (err: Error) => void;
}

interface Lane {
  /** The next nonce to relay; undefined until read from the chain (or after a failed relay). */
  next: bigint | undefined;
  reading: Promise<bigint> | undefined;
  /** Nonces announced and not yet relayed or withdrawn. */
  reserved: Set<bigint>;
  /** Nonces withdrawn or failed: anchors above one of them are refused at once, unless it is announced again. */
  refused: Set<bigint>;
  busy: boolean;
  waiters: Set<Waiter>;
  /** Anchors announced or being announced and not finished: the lane lives while there are any. */
  holders: number;
}

export type AnchorOrder = ReturnType<typeof createAnchorOrder>;

export function createAnchorOrder(opts: {
  /** The creator's next nonce on the contract. */
  chainNonce: (creator: Address) => Promise<bigint>;
  /** How long a relay waits for a lower nonce that has not arrived at all. */
  arrivalMs?: number;
}) {
  const arrivalMs = opts.arrivalMs ?? 3000;
  const lanes = new Map<string, Lane>();

  const outOfOrder = (nonce: bigint, why: string) =>
    new NodeError('NONCE_OUT_OF_ORDER', `nonce ${nonce} cannot be relayed: ${why}; sign it again`);
  const replayed = (nonce: bigint, creator: Address) =>
    new NodeError('SIGNATURE_REPLAYED', `nonce ${nonce} of ${creator} was already used`);

  function laneOf(creator: Address): Lane {
    const key = creator.toLowerCase();
    let lane = lanes.get(key);
    if (!lane) {
      lane = {
        next: undefined,
        reading: undefined,
        reserved: new Set(),
        refused: new Set(),
        busy: false,
        waiters: new Set(),
        holders: 0,
      };
      lanes.set(key, lane);
    }
    return lane;
  }

  async function nextOf(lane: Lane, creator: Address): Promise<bigint> {
    if (lane.next !== undefined) return lane.next;
    lane.reading ??= opts.chainNonce(creator).finally(() => {
      lane.reading = undefined;
    });
    const n = await lane.reading;
    lane.next ??= n;
    return lane.next;
  }

  function settle(creator: Address, lane: Lane) {
    for (const w of lane.waiters) w.wake();
    if (lane.holders === 0) lanes.delete(creator.toLowerCase());
  }

  /** A relay of `failed` did not happen: whoever waits on it, now or later, cannot be relayed either. */
  function refuseAbove(lane: Lane, failed: bigint, why: string) {
    lane.refused.add(failed);
    for (const w of lane.waiters) if (w.nonce > failed) w.fail(outOfOrder(w.nonce, why));
  }

  /**
   * Announces `creator`'s anchor with `nonce`. Refuses a nonce the chain (or this node) has used already, and a second
   * anchor with a nonce already in flight.
   */
  async function reserve(creator: Address, nonce: bigint): Promise<AnchorTicket> {
    const lane = laneOf(creator);
    lane.holders++;
    let done = false;
    try {
      const next = await nextOf(lane, creator);
      if (nonce < next) throw replayed(nonce, creator);
      if (lane.reserved.has(nonce)) throw replayed(nonce, creator);
    } catch (err) {
      lane.holders--;
      settle(creator, lane);
      throw err;
    }
    lane.reserved.add(nonce);
    lane.refused.delete(nonce);

    const release = () => {
      done = true;
      lane.reserved.delete(nonce);
      lane.holders--;
    };

    /** Resolves when `nonce` is next and nobody is relaying; rejects as described above. */
    const turn = () =>
      new Promise<void>((resolve, reject) => {
        const started = Date.now();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const waiter: Waiter = {
          nonce,
          wake: () => void check(),
          fail: (err) => {
            finish();
            reject(err);
          },
        };
        const finish = () => {
          lane.waiters.delete(waiter);
          if (timer) clearTimeout(timer);
        };
        const check = async () => {
          let next: bigint;
          try {
            next = await nextOf(lane, creator);
          } catch (err) {
            finish();
            reject(err);
            return;
          }
          if (!lane.waiters.has(waiter)) return;
          const gap = [...lane.refused].find((m) => m >= next && m < nonce && !lane.reserved.has(m));
          if (nonce < next) {
            finish();
            reject(replayed(nonce, creator));
          } else if (gap !== undefined) {
            finish();
            reject(outOfOrder(nonce, `the anchor with nonce ${gap} was refused`));
          } else if (nonce === next && !lane.busy) {
            finish();
            lane.busy = true;
            resolve();
          } else if (Date.now() - started >= arrivalMs) {
            // Waiting is only worth it while every nonce between is on its way (a walk over announced nonces only,
            // however far ahead `nonce` claims to be).
            let m = next;
            while (m < nonce && lane.reserved.has(m)) m++;
            if (m < nonce) {
              finish();
              reject(outOfOrder(nonce, `nonce ${m} of ${creator} has not arrived`));
            }
          }
        };
        lane.waiters.add(waiter);
        timer = setTimeout(() => void check(), arrivalMs);
        void check();
      });

    return {
      async relay<T>(fn: () => Promise<T>): Promise<T> {
        if (done) throw new Error('an anchor ticket relays once');
        try {
          await turn();
        } catch (err) {
          release();
          refuseAbove(lane, nonce, `nonce ${nonce} was refused`);
          settle(creator, lane);
          throw err;
        }
        try {
          const out = await fn();
          lane.next = nonce + 1n;
          return out;
        } catch (err) {
          // Whether the chain took the nonce is not known here: it is read again.
          lane.next = undefined;
          refuseAbove(lane, nonce, `the anchor with nonce ${nonce} was refused`);
          throw err;
        } finally {
          lane.busy = false;
          release();
          settle(creator, lane);
        }
      },
      cancel() {
        if (done) return;
        release();
        refuseAbove(lane, nonce, `the anchor with nonce ${nonce} was refused`);
        settle(creator, lane);
      },
    };
  }

  /**
   * The nonce after every anchor of `creator` on its way through this node (undefined when none is), so that another
   * client of the same account signs one that is not already taken.
   */
  function afterInFlight(creator: Address): bigint | undefined {
    const lane = lanes.get(creator.toLowerCase());
    if (!lane || lane.reserved.size === 0) return undefined;
    let top = -1n;
    for (const n of lane.reserved) if (n > top) top = n;
    return top + 1n;
  }

  return { reserve, afterInFlight, lanes: () => lanes.size };
}
