/**
 * Delegation service — transport-agnostic. Relays a patient's signed appointments of delegates (a guardian of a
 * child, a carer) and signed revocations (by the patient, or by a guardian of a minor revoking a carer) to the
 * Delegation contract, lists a patient's delegates from the index (live at the chain's time), and keeps the one piece
 * of key material that follows an appointment: the patient's scope keyring (its scope secrets, one per generation),
 * HPKE-wrapped by the patient to the delegate's registered key. It is handed only to a current delegate and dropped on
 * revocation (the patient then moves to a new generation the revoked delegate cannot derive). What a delegate then
 * does for the patient (grants, records) is decided by the consent and record services, which ask the chain.
 */
import { DelegateKind } from '@medbloc/core';
import { type Address, getAddress, type Hex } from 'viem';
import type { Chain } from '../chain/client.ts';
import type { Indexer } from '../chain/indexer.ts';
import type { Db, DelegateRow } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';
import { checkSignatureWindow } from './signatures.ts';

export interface AppointInput {
  patient: Address;
  delegate: Address;
  kind: number;
  expiresAt: bigint;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
  /** The patient's scope keyring, HPKE-wrapped to the delegate (opaque to the node). */
  keyEnvelope: string;
}

export interface RevokeDelegateInput {
  patient: Address;
  delegate: Address;
  signer: Address;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

export interface SetMinorInput {
  patient: Address;
  minor: boolean;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

export type DelegationService = ReturnType<typeof createDelegationService>;

const KIND_NAMES: Record<number, 'guardian' | 'carer'> = {
  [DelegateKind.guardian]: 'guardian',
  [DelegateKind.carer]: 'carer',
};

export function createDelegationService(deps: { db: Db; chain: Chain; indexer: Indexer }) {
  const { db, chain, indexer } = deps;
  const delegation = chain.contracts.delegation;
  const checkWindow = (signer: Address, nonce: bigint, deadline: bigint) =>
    checkSignatureWindow({
      nonce,
      deadline,
      whose: signer,
      current: () => chain.read<bigint>(delegation, 'nonces', [signer]),
    });

  async function relay(functionName: string, args: readonly unknown[]) {
    const receipt = await chain.relay({ ...delegation, functionName, args });
    await indexer.sync(receipt.blockNumber);
    return { txHash: receipt.transactionHash, blockNumber: Number(receipt.blockNumber) };
  }

  async function chainTime(): Promise<number> {
    return Number((await chain.publicClient.getBlock()).timestamp);
  }

  function view(d: DelegateRow, now: number) {
    return {
      patient: getAddress(d.patient),
      delegate: getAddress(d.delegate),
      kind: KIND_NAMES[d.kind] ?? ('carer' as const),
      expiresAt: d.expires_at,
      revoked: d.revoked === 1,
      revokedBy: d.revoked_by ? getAddress(d.revoked_by) : null,
      live: d.revoked === 0 && (d.expires_at === 0 || now < d.expires_at),
      blockNumber: d.block_number,
    };
  }

  const isDelegate = (patient: Address, account: Address) =>
    chain.read<boolean>(delegation, 'isDelegate', [patient, account]);

  return {
    async appoint(caller: Address, i: AppointInput) {
      if (caller !== i.patient)
        throw new NodeError('FORBIDDEN', 'only the patient may appoint its delegates');
      if (!KIND_NAMES[i.kind]) throw new NodeError('INVALID_BODY', 'kind must be guardian (1) or carer (2)');
      if (i.delegate === i.patient)
        throw new NodeError('INVALID_BODY', 'a patient cannot delegate to itself');
      const registered = await chain.read<boolean>(chain.contracts.accounts, 'isRegistered', [i.delegate]);
      if (!registered)
        throw new NodeError('NOT_REGISTERED', `delegate ${i.delegate} is not a registered account`);
      await checkWindow(i.patient, i.nonce, i.deadline);
      const out = await relay('appointDelegateBySig', [
        i.patient,
        i.delegate,
        i.kind,
        i.expiresAt,
        i.deadline,
        i.signature,
      ]);
      db.delegates.putKey(i.patient.toLowerCase(), i.delegate.toLowerCase(), i.keyEnvelope);
      return out;
    },

    async revoke(caller: Address, i: RevokeDelegateInput) {
      if (caller !== i.signer) throw new NodeError('FORBIDDEN', 'only the signer may submit its revocation');
      await checkWindow(i.signer, i.nonce, i.deadline);
      const out = await relay('revokeDelegateBySig', [
        i.patient,
        i.delegate,
        i.signer,
        i.deadline,
        i.signature,
      ]);
      db.delegates.removeKey(i.patient.toLowerCase(), i.delegate.toLowerCase());
      return out;
    },

    /** Flags or unflags the patient as a minor (its guardians may then revoke its carers), on its signature. */
    async setMinor(caller: Address, i: SetMinorInput) {
      if (caller !== i.patient) throw new NodeError('FORBIDDEN', 'only the patient may set its minor status');
      await checkWindow(i.patient, i.nonce, i.deadline);
      return relay('setMinorBySig', [i.patient, i.minor, i.deadline, i.signature]);
    },

    /** A patient's delegates (to the patient or one of its delegates), or the patients an account acts for. */
    async list(caller: Address, q: { patient?: Address; delegate?: Address }) {
      const now = await chainTime();
      if (q.patient) {
        if (q.patient !== caller && !(await isDelegate(q.patient, caller)))
          throw new NodeError('FORBIDDEN', 'only the patient or its delegates may list its delegates');
        return {
          delegates: db.delegates.of(q.patient.toLowerCase()).map((d) => view(d, now)),
          minor: await chain.read<boolean>(delegation, 'isMinor', [q.patient]),
          chainTime: now,
        };
      }
      if (q.delegate && q.delegate !== caller)
        throw new NodeError('FORBIDDEN', 'you may list only the patients you act for');
      return { delegates: db.delegates.for(caller.toLowerCase()).map((d) => view(d, now)), chainTime: now };
    },

    /** The patient replaces the key material it left for a current delegate (after a rotation of its scopes). */
    async putKey(caller: Address, i: { patient: Address; delegate: Address; keyEnvelope: string }) {
      if (caller !== i.patient)
        throw new NodeError('FORBIDDEN', 'only the patient may leave keys for its delegates');
      if (!(await isDelegate(i.patient, i.delegate)))
        throw new NodeError('FORBIDDEN', `${i.delegate} is not a current delegate of ${i.patient}`);
      db.delegates.putKey(i.patient.toLowerCase(), i.delegate.toLowerCase(), i.keyEnvelope);
      return { patient: i.patient, delegate: i.delegate };
    },

    /** The key material the patient wrapped for `caller`, while the chain says it is a current delegate. */
    async key(caller: Address, patient: Address) {
      if (!(await isDelegate(patient, caller)))
        throw new NodeError('FORBIDDEN', `${caller} is not a current delegate of ${patient}`);
      const envelope = db.delegates.key(patient.toLowerCase(), caller.toLowerCase());
      if (!envelope) throw new NodeError('ENVELOPE_NOT_FOUND', 'no key material was left for you');
      return { patient, delegate: caller, keyEnvelope: envelope };
    },

    isDelegate,
  };
}
