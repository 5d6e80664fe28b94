/**
 * Emergency access — transport-agnostic. A patient's emergency profile is sealed under a profile key split k-of-n
 * among emergency key holders; in the embedded default the holders run inside this node, each with its own X25519
 * key kept in the data directory. A certified provider first records a break-glass request on chain (EmergencyAccess,
 * relayed here); each holder then releases its share, re-wrapped to that provider's registered key, only for a request
 * on chain naming that provider and patient, while the provider is certified. Every opening is in the patient's log.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { emergencyAccessAbi } from '@medbloc/contracts';
import {
  decodeEnvelope,
  emergencyProfileTypes,
  encodeEnvelope,
  encryptionKeyPairFromSeed,
  hpkeUnwrap,
  hpkeWrap,
  Role,
} from '@medbloc/core';
import {
  type Address,
  bytesToHex,
  concat,
  getAddress,
  type Hex,
  hexToBytes,
  keccak256,
  parseEventLogs,
  recoverTypedDataAddress,
  sha256,
  stringToBytes,
} from 'viem';
import type { Chain } from '../chain/client.ts';
import type { Indexer } from '../chain/indexer.ts';
import type { Db } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';
import type { AuditService, SignedAccessRequest } from './audit.ts';
import type { ConsentService } from './consent.ts';

export interface EmergencyHolder {
  index: number;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** The AAD binding a share envelope to its patient and holder. */
export const shareAad = (patient: Address, holder: number) =>
  stringToBytes(`medbloc emergency share v1:${patient.toLowerCase()}:${holder}`);
/** The AAD binding a released share to its break-glass request and holder. */
export const releaseAad = (requestId: Hex, holder: number) =>
  stringToBytes(`medbloc emergency release v1:${requestId.toLowerCase()}:${holder}`);

/** Loads the embedded holders' keys from `dir`, creating `count` of them on first start. */
export async function loadHolders(dir: string, count: number): Promise<EmergencyHolder[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const holders: EmergencyHolder[] = [];
  for (let index = 1; index <= count; index++) {
    const file = path.join(dir, `holder-${index}.key`);
    let seed: Uint8Array;
    try {
      seed = hexToBytes((await readFile(file, 'utf8')).trim() as Hex);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      seed = new Uint8Array(randomBytes(32));
      await writeFile(file, `${bytesToHex(seed)}\n`, { mode: 0o600, flag: 'wx' });
    }
    holders.push({ index, ...encryptionKeyPairFromSeed(seed) });
  }
  return holders;
}

export interface ProfileInput {
  patient: Address;
  signer: Address;
  /** The sealed profile (base64url), its owner envelope, and one share envelope per holder. */
  sealed: string;
  ownerEnvelope: string;
  shares: { holder: number; envelope: string }[];
  threshold: number;
  time: bigint;
  signature: Hex;
}

export type EmergencyService = ReturnType<typeof createEmergencyService>;

export function createEmergencyService(deps: {
  db: Db;
  chain: Chain;
  indexer: Indexer;
  consent: ConsentService;
  audit: AuditService;
  holders: EmergencyHolder[];
  threshold: number;
}) {
  const { db, chain, indexer, consent, audit, holders } = deps;
  const emergency = chain.contracts.emergency;

  return {
    holders() {
      return {
        threshold: deps.threshold,
        holders: holders.map((h) => ({ index: h.index, publicKey: bytesToHex(h.publicKey) })),
      };
    },

    async setProfile(caller: Address, i: ProfileInput) {
      if (caller !== i.signer) throw new NodeError('FORBIDDEN', 'only the signer may submit the profile');
      await consent.requireActsFor(i.patient, i.signer);
      if (i.threshold < 2 || i.threshold > holders.length || i.shares.length !== holders.length)
        throw new NodeError(
          'INVALID_BODY',
          `send one share per holder (${holders.length}), threshold 2..${holders.length}`,
        );
      const profile = sha256(Buffer.from(i.sealed, 'base64url'));
      const shares = keccak256(concat(i.shares.map((s) => stringToBytes(s.envelope))));
      const signer = await recoverTypedDataAddress({
        domain: chain.domain('emergencyAccess'),
        types: emergencyProfileTypes,
        primaryType: 'EmergencyProfile',
        message: { patient: i.patient, profile, shares, threshold: i.threshold, time: i.time },
        signature: i.signature,
      }).catch(() => undefined);
      if (signer !== i.signer)
        throw new NodeError('INVALID_SIGNATURE', 'the profile is not signed by its signer');
      // Each holder checks that its share opens before accepting it (it never keeps it unwrapped).
      for (const s of i.shares) {
        const h = holders.find((x) => x.index === s.holder);
        if (!h) throw new NodeError('INVALID_BODY', `no emergency key holder ${s.holder}`);
        await hpkeUnwrap(h.privateKey, decodeEnvelope(s.envelope).data, shareAad(i.patient, h.index)).catch(
          () => {
            throw new NodeError(
              'INVALID_BODY',
              `the share for holder ${s.holder} does not open with its key`,
            );
          },
        );
      }
      db.emergency.put({
        patient: i.patient.toLowerCase(),
        sealed: i.sealed,
        owner_envelope: i.ownerEnvelope,
        threshold: i.threshold,
        shares: JSON.stringify(i.shares),
        signer: i.signer.toLowerCase(),
        signature: i.signature,
        time: Number(i.time),
      });
      return { patient: i.patient, profile, threshold: i.threshold, holders: holders.length };
    },

    /** The patient's own copy: sealed profile and the owner's envelope (never the shares). */
    profile(caller: Address, patient: Address) {
      if (caller !== patient) throw new NodeError('FORBIDDEN', 'only the patient reads the profile this way');
      const p = db.emergency.get(patient.toLowerCase());
      if (!p) throw new NodeError('PROFILE_NOT_FOUND', `${patient} has no emergency profile`);
      return {
        patient,
        sealed: p.sealed,
        ownerEnvelope: p.owner_envelope,
        threshold: p.threshold,
        time: p.time,
      };
    },

    /** Relays a provider's signed break-glass request; returns its on-chain id. */
    async request(
      caller: Address,
      i: { provider: Address; patient: Address; reasonHash: Hex; deadline: bigint; signature: Hex },
    ) {
      if (caller !== i.provider) throw new NodeError('FORBIDDEN', 'only the provider may submit its request');
      if (!db.emergency.get(i.patient.toLowerCase()))
        throw new NodeError('PROFILE_NOT_FOUND', `${i.patient} has no emergency profile`);
      const receipt = await chain.relay({
        ...emergency,
        functionName: 'requestBySig',
        args: [i.provider, i.patient, i.reasonHash, i.deadline, i.signature],
      });
      await indexer.sync(receipt.blockNumber);
      const [event] = parseEventLogs({
        abi: emergencyAccessAbi,
        logs: receipt.logs,
        eventName: 'BreakGlassRequested',
      });
      if (!event) throw new NodeError('CHAIN_REVERTED', 'the break-glass request left no event');
      return {
        requestId: event.args.requestId,
        txHash: receipt.transactionHash,
        blockNumber: Number(receipt.blockNumber),
      };
    },

    /**
     * Each holder releases its share, re-wrapped to the provider, only for a request on chain by this provider for
     * this patient, while the provider is certified. Logged in the patient's access log either way.
     */
    async open(caller: Address, requestId: Hex, request: SignedAccessRequest | undefined) {
      const [provider, patient] = await chain.read<[Address, Address, bigint]>(emergency, 'requestOf', [
        requestId,
      ]);
      if (patient === '0x0000000000000000000000000000000000000000')
        throw new NodeError('REQUEST_NOT_FOUND', `no break-glass request ${requestId} on chain`);
      const owner = getAddress(patient);
      const log = (outcome: 'granted' | 'denied', r?: SignedAccessRequest) =>
        audit.record({ owner, requester: caller, record: requestId, purpose: 3, outcome, request: r });
      let signed = request;
      if (signed) {
        try {
          await audit.verifyRequest(caller, signed);
          if (signed.record.toLowerCase() !== requestId.toLowerCase() || signed.purpose !== 3)
            throw new NodeError('RECEIPT_INVALID', 'the access request names another request or purpose');
        } catch (err) {
          signed = undefined;
          await log('denied');
          throw err;
        }
      }
      if (getAddress(provider) !== caller) {
        await log('denied', signed);
        throw new NodeError('FORBIDDEN', 'that break-glass request is not yours');
      }
      if (!(await chain.read<boolean>(chain.contracts.accounts, 'isCertified', [caller, Role.provider]))) {
        await log('denied', signed);
        throw new NodeError('NOT_CERTIFIED', `${caller} is not currently a certified provider`);
      }
      if (!signed) {
        await log('denied');
        throw new NodeError('RECEIPT_REQUIRED', 'send a signed access request (x-medbloc-access)');
      }
      const p = db.emergency.get(owner.toLowerCase());
      if (!p) throw new NodeError('PROFILE_NOT_FOUND', `${owner} has no emergency profile`);
      const [providerKey] = await chain.read<[Hex, number, bigint]>(chain.contracts.accounts, 'accountOf', [
        caller,
      ]);
      const released: { holder: number; envelope: string }[] = [];
      for (const s of JSON.parse(p.shares) as { holder: number; envelope: string }[]) {
        const h = holders.find((x) => x.index === s.holder);
        if (!h) continue;
        const share = await hpkeUnwrap(
          h.privateKey,
          decodeEnvelope(s.envelope).data,
          shareAad(owner, h.index),
        );
        const data = await hpkeWrap(hexToBytes(providerKey), share, releaseAad(requestId, h.index));
        share.fill(0);
        released.push({ holder: h.index, envelope: encodeEnvelope({ kind: 'hpke', data }) });
      }
      await log('granted', signed);
      return {
        requestId,
        patient: owner,
        sealed: p.sealed,
        threshold: p.threshold,
        shares: released,
        profile: {
          shares: keccak256(
            concat((JSON.parse(p.shares) as { envelope: string }[]).map((s) => stringToBytes(s.envelope))),
          ),
          signer: getAddress(p.signer),
          signature: p.signature as Hex,
          time: p.time,
        },
      };
    },
  };
}
