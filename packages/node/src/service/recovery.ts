/**
 * Social-recovery service — transport-agnostic. Keeps, as ciphertext only, a patient's recovery shares (each a k-of-n
 * Shamir share of the patient's mnemonic entropy, HPKE-wrapped by the patient to one guardian's registered key),
 * relays the patient's signed commitment to the guardian set (Delegation.setRecoveryGuardiansBySig: a salted hash
 * of the set and the threshold), and brokers a recovery: a new device posts a fresh recovery public key, each
 * guardian who agrees re-wraps its share to that key, and the device collects the releases. The node can open none
 * of it, and the recovered identity proves itself by its address.
 */
import { guardianSetHash } from '@medbloc/core';
import { type Address, getAddress, type Hex } from 'viem';
import type { Chain } from '../chain/client.ts';
import type { Db } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';

export interface RecoverySetInput {
  patient: Address;
  guardiansHash: Hex;
  threshold: number;
  salt: Hex;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
  shares: { guardian: Address; envelope: string }[];
}

export type RecoveryService = ReturnType<typeof createRecoveryService>;

export function createRecoveryService(deps: { db: Db; chain: Chain }) {
  const { db, chain } = deps;
  const delegation = chain.contracts.delegation;

  function setOf(patient: Address) {
    const row = db.recovery.get(patient.toLowerCase());
    if (!row) throw new NodeError('NOT_FOUND', `${patient} has no recovery guardians at this node`);
    return { ...row, shares: JSON.parse(row.shares) as { guardian: string; envelope: string }[] };
  }

  function requireRequest(patient: Address, recoveryKey: Hex) {
    const known = db.recovery.requests(patient.toLowerCase()).some((r) => r.recovery_key === recoveryKey);
    if (!known) throw new NodeError('REQUEST_NOT_FOUND', 'no recovery was requested with that key');
  }

  return {
    async setGuardians(caller: Address, i: RecoverySetInput) {
      if (caller !== i.patient)
        throw new NodeError('FORBIDDEN', 'only the patient may set its recovery guardians');
      const n = i.shares.length;
      if (n < 2 || n > 255) throw new NodeError('INVALID_BODY', 'give 2 to 255 guardians');
      if (!Number.isInteger(i.threshold) || i.threshold < 2 || i.threshold > n)
        throw new NodeError('INVALID_BODY', 'threshold must be from 2 to the number of guardians');
      const guardians = i.shares.map((s) => s.guardian);
      if (guardians.some((g) => g === i.patient))
        throw new NodeError('INVALID_BODY', 'a patient cannot be its own recovery guardian');
      let hash: Hex;
      try {
        hash = guardianSetHash(guardians, i.salt);
      } catch (err) {
        throw new NodeError('INVALID_BODY', (err as Error).message);
      }
      if (hash !== i.guardiansHash)
        throw new NodeError('INVALID_BODY', 'guardiansHash does not commit to the guardians of these shares');
      for (const g of guardians) {
        if (!(await chain.read<boolean>(chain.contracts.accounts, 'isRegistered', [g])))
          throw new NodeError('NOT_REGISTERED', `guardian ${g} is not a registered account`);
      }
      if (i.deadline <= BigInt(Math.floor(Date.now() / 1000)))
        throw new NodeError('SIGNATURE_EXPIRED', 'the signature has expired');
      const current = await chain.read<bigint>(delegation, 'nonces', [i.patient]);
      if (i.nonce !== current)
        throw new NodeError(
          i.nonce < current ? 'SIGNATURE_REPLAYED' : 'INVALID_SIGNATURE',
          `nonce ${i.nonce} is not ${i.patient}'s next nonce ${current}`,
        );
      const receipt = await chain.relay({
        ...delegation,
        functionName: 'setRecoveryGuardiansBySig',
        args: [i.patient, i.guardiansHash, i.threshold, i.deadline, i.signature],
      });
      db.recovery.put({
        patient: i.patient.toLowerCase(),
        guardians_hash: i.guardiansHash,
        threshold: i.threshold,
        salt: i.salt,
        shares: JSON.stringify(
          i.shares.map((s) => ({ guardian: s.guardian.toLowerCase(), envelope: s.envelope })),
        ),
        created_at: Date.now(),
      });
      return { txHash: receipt.transactionHash, blockNumber: Number(receipt.blockNumber), guardians: n };
    },

    /** What anyone may know: the threshold and how many guardians hold shares (not who they are). */
    status(patient: Address) {
      const s = setOf(patient);
      return {
        patient,
        threshold: s.threshold,
        guardians: s.shares.length,
        guardiansHash: s.guardians_hash as Hex,
      };
    },

    /** The patient's own view: its guardians and the salt of their commitment. */
    guardians(caller: Address, patient: Address) {
      if (caller !== patient)
        throw new NodeError('FORBIDDEN', 'only the patient may list its recovery guardians');
      const s = setOf(patient);
      return {
        patient,
        threshold: s.threshold,
        salt: s.salt as Hex,
        guardiansHash: s.guardians_hash as Hex,
        guardians: s.shares.map((x) => getAddress(x.guardian)),
      };
    },

    /** A new device asks for recovery of `patient`'s keys, to be released to `recoveryKey` (X25519, hex). */
    request(patient: Address, recoveryKey: Hex) {
      setOf(patient);
      db.recovery.request(patient.toLowerCase(), recoveryKey.toLowerCase());
      return { patient, recoveryKey: recoveryKey.toLowerCase() as Hex };
    },

    /** A guardian's own share envelope of `patient`, and the recovery keys asked for. */
    share(caller: Address, patient: Address) {
      const s = setOf(patient);
      const mine = s.shares.find((x) => x.guardian === caller.toLowerCase());
      if (!mine) throw new NodeError('FORBIDDEN', `${caller} is not a recovery guardian of ${patient}`);
      return {
        patient,
        guardian: caller,
        threshold: s.threshold,
        envelope: mine.envelope,
        requests: db.recovery
          .requests(patient.toLowerCase())
          .map((r) => ({ recoveryKey: r.recovery_key as Hex, requestedAt: r.created_at })),
      };
    },

    /** A guardian releases its share, re-wrapped by itself to a requested recovery key. */
    release(caller: Address, patient: Address, recoveryKey: Hex, envelope: string) {
      const s = setOf(patient);
      if (!s.shares.some((x) => x.guardian === caller.toLowerCase()))
        throw new NodeError('FORBIDDEN', `${caller} is not a recovery guardian of ${patient}`);
      requireRequest(patient, recoveryKey.toLowerCase() as Hex);
      db.recovery.release(patient.toLowerCase(), recoveryKey.toLowerCase(), caller.toLowerCase(), envelope);
      return { patient, recoveryKey, guardian: caller };
    },

    /** The releases made to `recoveryKey` so far (ciphertext only that key opens). */
    releases(patient: Address, recoveryKey: Hex) {
      const s = setOf(patient);
      requireRequest(patient, recoveryKey.toLowerCase() as Hex);
      return {
        patient,
        threshold: s.threshold,
        releases: db.recovery
          .releases(patient.toLowerCase(), recoveryKey.toLowerCase())
          .map((r) => ({ guardian: getAddress(r.guardian), envelope: r.envelope })),
      };
    },
  };
}
