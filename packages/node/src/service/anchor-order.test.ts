import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Address } from 'viem';
import { createAnchorOrder } from './anchor-order.ts';

const alice = '0x00000000000000000000000000000000000a11ce' as Address;
const bob = '0x0000000000000000000000000000000000000b0b' as Address;

/** A chain that counts nonce reads and advances a creator's nonce when a relay "mines". */
function fakeChain(start: Record<string, bigint> = {}) {
  const nonces = new Map(Object.entries(start).map(([k, v]) => [k.toLowerCase(), v]));
  const order: string[] = [];
  let reads = 0;
  return {
    order,
    reads: () => reads,
    chainNonce: async (who: Address) => {
      reads++;
      await new Promise((r) => setTimeout(r, 1));
      return nonces.get(who.toLowerCase()) ?? 0n;
    },
    /** A relay that checks the nonce the way the contract does, then uses it. */
    mine:
      (who: Address, nonce: bigint, label = `${who.slice(-4)}:${nonce}`) =>
      async () => {
        await new Promise((r) => setTimeout(r, 5));
        const current = nonces.get(who.toLowerCase()) ?? 0n;
        if (current !== nonce) throw new Error(`reverted: nonce ${nonce}, chain expects ${current}`);
        nonces.set(who.toLowerCase(), current + 1n);
        order.push(label);
        return label;
      },
  };
}

describe('anchor order', () => {
  test('anchors that arrive out of order are relayed in nonce order', async () => {
    const chain = fakeChain({ [alice]: 3n });
    const order = createAnchorOrder({ chainNonce: chain.chainNonce });
    const tickets = await Promise.all([5n, 3n, 4n].map((n) => order.reserve(alice, n)));
    const results = await Promise.all(tickets.map((t, i) => t.relay(chain.mine(alice, [5n, 3n, 4n][i]!))));
    assert.deepEqual(chain.order, ['11ce:3', '11ce:4', '11ce:5']);
    assert.deepEqual(results, ['11ce:5', '11ce:3', '11ce:4']);
    // Idle, the lane is forgotten: the next anchor asks the chain again.
    assert.equal(order.lanes(), 0);
    const readsBefore = chain.reads();
    await (await order.reserve(alice, 6n)).relay(chain.mine(alice, 6n));
    assert.equal(chain.reads(), readsBefore + 1);
  });

  test('a used nonce is a replay, at reserve and while another anchor with it is in flight', async () => {
    const chain = fakeChain({ [alice]: 2n });
    const order = createAnchorOrder({ chainNonce: chain.chainNonce });
    await assert.rejects(order.reserve(alice, 1n), { code: 'SIGNATURE_REPLAYED' });
    const first = await order.reserve(alice, 2n);
    await assert.rejects(order.reserve(alice, 2n), { code: 'SIGNATURE_REPLAYED' });
    await first.relay(chain.mine(alice, 2n));
    assert.deepEqual(chain.order, ['11ce:2']);
  });

  test('when an anchor is refused, those waiting behind it are refused as out of order, and the lane recovers', async () => {
    const chain = fakeChain();
    const order = createAnchorOrder({ chainNonce: chain.chainNonce, arrivalMs: 10_000 });
    const [t0, t1, t2] = await Promise.all([0n, 1n, 2n].map((n) => order.reserve(alice, n)));
    const waiting = [t1!.relay(chain.mine(alice, 1n)), t2!.relay(chain.mine(alice, 2n))];
    // Nonce 0 is refused before it relays (its checks failed): 1 and 2 can never be relayed, and are told at once.
    const t = Date.now();
    t0!.cancel();
    for (const w of waiting) await assert.rejects(w, { code: 'NONCE_OUT_OF_ORDER' });
    assert.ok(Date.now() - t < 5000, 'refused without waiting out the arrival window');
    assert.equal(order.lanes(), 0);
    // Signed again from the chain's nonce, they go through.
    await (await order.reserve(alice, 0n)).relay(chain.mine(alice, 0n));
    assert.deepEqual(chain.order, ['11ce:0']);
  });

  test('an anchor that starts waiting after the one before it was refused is refused at once', async () => {
    const chain = fakeChain();
    const order = createAnchorOrder({ chainNonce: chain.chainNonce, arrivalMs: 10_000 });
    const [t0, t1] = await Promise.all([0n, 1n].map((n) => order.reserve(alice, n)));
    t0!.cancel();
    const t = Date.now();
    await assert.rejects(t1!.relay(chain.mine(alice, 1n)), /nonce 0 was refused/);
    assert.ok(Date.now() - t < 5000, 'refused without waiting out the arrival window');
    // The refused nonce announced again fills the gap.
    const [again0, again1] = await Promise.all([0n, 1n].map((n) => order.reserve(alice, n)));
    await Promise.all([again1!.relay(chain.mine(alice, 1n)), again0!.relay(chain.mine(alice, 0n))]);
    assert.deepEqual(chain.order, ['11ce:0', '11ce:1']);
  });

  test('a relay that fails refuses the anchors behind it; the chain nonce is read again', async () => {
    const chain = fakeChain();
    const order = createAnchorOrder({ chainNonce: chain.chainNonce, arrivalMs: 10_000 });
    const [t0, t1] = await Promise.all([0n, 1n].map((n) => order.reserve(alice, n)));
    const behind = t1!.relay(chain.mine(alice, 1n));
    await assert.rejects(
      t0!.relay(async () => {
        throw new Error('reverted');
      }),
      /reverted/,
    );
    const t = Date.now();
    await assert.rejects(behind, { code: 'NONCE_OUT_OF_ORDER' });
    assert.ok(Date.now() - t < 5000, 'refused without waiting out the arrival window');
    const readsBefore = chain.reads();
    await (await order.reserve(alice, 0n)).relay(chain.mine(alice, 0n));
    assert.ok(chain.reads() > readsBefore);
  });

  test('a nonce whose predecessor never arrives is refused after the arrival window', async () => {
    const chain = fakeChain();
    const order = createAnchorOrder({ chainNonce: chain.chainNonce, arrivalMs: 50 });
    const ahead = await order.reserve(alice, 1n);
    const t = Date.now();
    await assert.rejects(ahead.relay(chain.mine(alice, 1n)), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'NONCE_OUT_OF_ORDER');
      assert.match(err.message, /nonce 0 .* has not arrived/);
      return true;
    });
    assert.ok(Date.now() - t >= 45, 'it waited for the predecessor');
    assert.deepEqual(chain.order, []);
    assert.equal(order.lanes(), 0);
  });

  test('a nonce claimed far ahead is refused after the window, without walking the nonces between', async () => {
    const chain = fakeChain();
    const order = createAnchorOrder({ chainNonce: chain.chainNonce, arrivalMs: 20 });
    const far = await order.reserve(alice, 2n ** 200n);
    await assert.rejects(far.relay(chain.mine(alice, 2n ** 200n)), /nonce 0 .* has not arrived/);
    assert.equal(order.lanes(), 0);
  });

  test('a predecessor that arrives late, within the window, is waited for', async () => {
    const chain = fakeChain();
    const order = createAnchorOrder({ chainNonce: chain.chainNonce, arrivalMs: 2000 });
    const ahead = (await order.reserve(alice, 1n)).relay(chain.mine(alice, 1n));
    await new Promise((r) => setTimeout(r, 30));
    await (await order.reserve(alice, 0n)).relay(chain.mine(alice, 0n));
    assert.equal(await ahead, '11ce:1');
    assert.deepEqual(chain.order, ['11ce:0', '11ce:1']);
  });

  test('the nonce after those in flight is known while they are, and forgotten after', async () => {
    const chain = fakeChain({ [alice]: 4n });
    const order = createAnchorOrder({ chainNonce: chain.chainNonce, arrivalMs: 10_000 });
    assert.equal(order.afterInFlight(alice), undefined);
    const [t4, t5] = await Promise.all([4n, 5n].map((n) => order.reserve(alice, n)));
    assert.equal(order.afterInFlight(alice), 6n);
    assert.equal(order.afterInFlight(bob), undefined);
    await Promise.all([t5!.relay(chain.mine(alice, 5n)), t4!.relay(chain.mine(alice, 4n))]);
    assert.equal(order.afterInFlight(alice), undefined);
  });

  test("creators do not wait for each other's anchors", async () => {
    const chain = fakeChain();
    const order = createAnchorOrder({ chainNonce: chain.chainNonce, arrivalMs: 10_000 });
    // Alice's nonce 1 waits for her nonce 0; Bob's nonce 0 goes straight through.
    const aliceLater = (await order.reserve(alice, 1n)).relay(chain.mine(alice, 1n));
    const aliceFirst = await order.reserve(alice, 0n);
    await (await order.reserve(bob, 0n)).relay(chain.mine(bob, 0n));
    assert.deepEqual(chain.order, ['0b0b:0']);
    await aliceFirst.relay(chain.mine(alice, 0n));
    await aliceLater;
    assert.deepEqual(chain.order, ['0b0b:0', '11ce:0', '11ce:1']);
  });
});
