/**
 * EIP-712 typed data that users sign to authorise every state change. These definitions are the single source of
 * truth shared by the contracts (their typehashes must match), the node (which relays) and the SDK (which signs).
 * Each contract is its own signing domain: name "MedBloc", version "1", the chain id and the contract's address.
 */
import type { Address, Hex, TypedDataDomain } from 'viem';

export const DOMAIN_NAME = 'MedBloc';
export const DOMAIN_VERSION = '1';

/** Role bits of an account. An account may hold several; certification is per role. */
export const Role = {
  patient: 1,
  provider: 2,
  researcher: 4,
} as const;
export type RoleName = keyof typeof Role;

export function domainFor(chainId: number, verifyingContract: Address): TypedDataDomain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId, verifyingContract };
}

/** AccountRegistry: self-registration of an account and its X25519 encryption key. Signed by `account`. */
export const registerTypes = {
  Register: [
    { name: 'account', type: 'address' },
    { name: 'encryptionKey', type: 'bytes32' },
    { name: 'roles', type: 'uint8' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** AccountRegistry: an authority certifies `account` for one role. Signed by the authority. */
export const certifyTypes = {
  Certify: [
    { name: 'account', type: 'address' },
    { name: 'role', type: 'uint8' },
    { name: 'credentialHash', type: 'bytes32' },
    { name: 'expiresAt', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** AccountRegistry: an authority revokes a certification. Signed by the authority. */
export const revokeCertificationTypes = {
  RevokeCertification: [
    { name: 'account', type: 'address' },
    { name: 'role', type: 'uint8' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** RecordRegistry: anchor one record. Signed by `creator`. `supersedes` is a record id or zero. */
export const anchorRecordTypes = {
  AnchorRecord: [
    { name: 'owner', type: 'address' },
    { name: 'creator', type: 'address' },
    { name: 'digest', type: 'bytes32' },
    { name: 'keyCommitment', type: 'bytes32' },
    { name: 'supersedes', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/**
 * RecordRegistry: anchor a Merkle root over `count` record anchors in one transaction. Signed by `creator`.
 * `manifest` is the sha-256 digest of the batch manifest blob (the list of leaves), so any node can index it.
 */
export const anchorBatchTypes = {
  AnchorBatch: [
    { name: 'creator', type: 'address' },
    { name: 'root', type: 'bytes32' },
    { name: 'count', type: 'uint32' },
    { name: 'manifest', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** One record anchor, as stored on chain or as a leaf of a batch. */
export interface AnchorFields {
  owner: Address;
  creator: Address;
  /** sha-256 of the ciphertext (the multihash digest of its CIDv1). */
  digest: Hex;
  /** HMAC commitment to the record's data key. */
  keyCommitment: Hex;
  /** Record id this record corrects, or the zero hash. */
  supersedes: Hex;
}

export const ZERO_HASH: Hex = '0x0000000000000000000000000000000000000000000000000000000000000000';
