/**
 * Sealing a batch of records for one owner: what a bulk ingest does for each record, in one call that needs nothing
 * but bytes in and gives strings and bytes out — so it runs as well in a worker thread as inline. Each record gets a
 * fresh data key; its ciphertext joins the batch's pack; its data key is wrapped under the batch key (and, where the
 * record's category has a scope key, under that too); its metadata is sealed under its own data key. The Merkle root
 * over the records' batch leaves is what the creator signs.
 */
import type { Address, Hex } from 'viem';
import { batchLeafOf, recordIdOf } from './anchor.ts';
import { bytesToHex, decodeHexInto, toBase64Url, utf8ToBytes } from './bytes.ts';
import { createDigester } from './cid.ts';
import { type AnchorFields, ZERO_HASH } from './eip712.ts';
import { encodeEnvelope, symWrap } from './envelope.ts';
import { InvalidArgumentError } from './errors.ts';
import { keccakReady } from './keccak.ts';
import { buildMerkleTree } from './merkle.ts';
import { generateDataKey, keyCommitment, SEAL_HEADER_SIZE, sealBytes } from './seal.ts';

export interface SealBatchInput {
  owner: Address;
  creator: Address;
  /** The batch key every record's data key is wrapped under, and its id (named in each record's envelope). */
  batchKey: Uint8Array;
  kekId: string;
  /** The records' plaintexts back to back: record i is bytes [ends[i - 1] ?? 0, ends[i]). */
  plain: Uint8Array;
  ends: readonly number[];
  /** Each record's metadata as JSON, sealed under the record's own data key. */
  metas: readonly string[];
  /** The record each one supersedes (ZERO_HASH, or absent, for none). */
  supersedes?: readonly (Hex | undefined)[];
  /** Per record, the index in `scopeKeys` of the scope batch key its data key is also wrapped under, or -1. */
  scopeOf?: readonly number[];
  scopeKeys?: readonly { kekId: string; key: Uint8Array }[];
}

export interface SealedBatchRecord extends AnchorFields {
  recordId: Hex;
  /** The data key wrapped under the batch key (`wrap1.…`). */
  envelope: string;
  /** The sealed metadata, base64url. */
  encMeta: string;
  /** The data key wrapped under the record's scope batch key, when it has one. */
  scope?: { index: number; envelope: string };
  /** The record's byte range in the pack. */
  offset: number;
  length: number;
}

export interface SealedBatch {
  /** Every record's ciphertext, back to back, and its SHA-256. */
  pack: Uint8Array;
  packDigest: Hex;
  records: SealedBatchRecord[];
  /** Merkle root over the records' batch leaves (their order is the leaf order). */
  root: Hex;
}

/**
 * Seals every record of a batch. Pure: fresh randomness is its only input besides the arguments.
 * @example const sealed = await sealRecordBatch({ owner, creator, batchKey, kekId, plain, ends, metas });
 */
export async function sealRecordBatch(input: SealBatchInput): Promise<SealedBatch> {
  const { owner, creator, batchKey, kekId, plain, ends, metas } = input;
  const n = ends.length;
  if (n === 0 || metas.length !== n)
    throw new InvalidArgumentError('a batch needs at least one record, and one metadata entry per record');
  // Record ids, leaves and the root take three Keccaks per record: on the WebAssembly hasher, not its slower
  // fallback, which a batch started right after import would otherwise run from start to end (nothing in the loop
  // yields to the task that installs it).
  await keccakReady;
  const sealed: Uint8Array[] = new Array(n);
  const records: SealedBatchRecord[] = new Array(n);
  let start = 0;
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const end = ends[i]!;
    if (end < start || end > plain.length)
      throw new InvalidArgumentError(`record ${i} ends outside the plaintext`);
    const dek = generateDataKey();
    const ciphertext = await sealBytes(plain.subarray(start, end), dek);
    const digest = createDigester().update(ciphertext).digest();
    const fields: AnchorFields = {
      owner,
      creator,
      digest: bytesToHex(digest),
      keyCommitment: keyCommitment(dek, ciphertext.subarray(0, SEAL_HEADER_SIZE)),
      supersedes: input.supersedes?.[i] ?? ZERO_HASH,
    };
    const recordId = recordIdOf(fields);
    const aad = new Uint8Array(32);
    decodeHexInto(recordId, aad, 0);
    const record: SealedBatchRecord = {
      ...fields,
      recordId,
      envelope: encodeEnvelope({ kind: 'wrapped', kekId, data: await symWrap(batchKey, dek, aad) }),
      encMeta: toBase64Url(await sealBytes(utf8ToBytes(metas[i]!), dek)),
      offset,
      length: ciphertext.byteLength,
    };
    const s = input.scopeOf?.[i] ?? -1;
    const scope = s >= 0 ? input.scopeKeys?.[s] : undefined;
    if (scope) {
      const data = await symWrap(scope.key, dek, aad);
      record.scope = { index: s, envelope: encodeEnvelope({ kind: 'wrapped', kekId: scope.kekId, data }) };
    }
    sealed[i] = ciphertext;
    records[i] = record;
    offset += ciphertext.byteLength;
    start = end;
  }
  const pack = new Uint8Array(offset);
  for (let i = 0; i < n; i++) pack.set(sealed[i]!, records[i]!.offset);
  return {
    pack,
    packDigest: bytesToHex(createDigester().update(pack).digest()),
    records,
    root: buildMerkleTree(records.map(batchLeafOf)).root,
  };
}
