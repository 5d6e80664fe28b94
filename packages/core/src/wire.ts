/**
 * Shapes of the node's HTTP API that the SDK reads back: declared once, so the node's answers and the client's
 * expectations cannot drift apart.
 */
import type { Address, Hex } from 'viem';

/** How a record's anchor was authorised on chain: alone, in a signed batch (with its inclusion proof), or unknown. */
export type RecordAuthorisation =
  | { kind: 'single'; nonce: string; deadline: string; signature: Hex }
  | {
      kind: 'batch';
      root: Hex;
      leafIndex: number;
      count: number;
      manifest: Hex;
      proof: Hex[];
      nonce: string | null;
      deadline: string | null;
      signature: Hex | null;
    }
  | null;

/** A record as the node lists it: its anchor, where its ciphertext is, and its sealed metadata. */
export interface RecordSummary {
  recordId: Hex;
  owner: Address;
  creator: Address;
  cid: string;
  digest: Hex;
  keyCommitment: Hex;
  supersedes: Hex;
  supersededBy: Hex | null;
  anchoredAt: number;
  blockNumber: number;
  txHash: Hex;
  encMeta: string | null;
  /** The opaque sharing scopes the record belongs to. */
  scopes: Hex[];
  authorisation: RecordAuthorisation;
}

/** The caller's key material for one record, as the node hands it to that caller. */
export interface RecordKeys {
  /**
   * How the caller reads the record: as its owner, through a grant of the record or of its category (`scope`), or as
   * one of the owner's current delegates (`delegate`: the key is in the scope's envelope, whose private key the
   * delegate derives from the keyring the owner wrapped for it at the appointment).
   */
  access: 'owner' | 'record' | 'scope' | 'delegate';
  envelope: string | null;
  kekId: string | null;
  wrapKeyEnvelope: string | null;
  /** Set when the key reaches this reader through a scope (a category grant, or as a delegate). */
  scopeId: Hex | null;
  /** Through a category grant: the scope's private key, wrapped for this reader. */
  scopeKeyEnvelope: string | null;
}

/** A record with the caller's keys: what a read returns. */
export type RecordDetail = RecordSummary & RecordKeys;
