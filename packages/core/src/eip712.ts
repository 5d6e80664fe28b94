/**
 * EIP-712 typed data that users sign to authorise every state change. These definitions are the single source of
 * truth shared by the contracts (their typehashes must match), the node (which relays) and the SDK (which signs).
 * Each contract is its own signing domain: name "MedBloc", version "1", the chain id and the contract's address.
 */
import type { Address, Hex, TypedDataDomain } from 'viem';
import { bytesToHex, hexToBytes } from './bytes.ts';
import { keccak256 } from './keccak.ts';

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

/** Delegation: the kind of a delegate who acts for a patient. */
export const DelegateKind = {
  guardian: 1,
  carer: 2,
} as const;
export type DelegateKindName = keyof typeof DelegateKind;

/** ConsentRegistry: what a grant lets the grantee do with the scope. A research grantee must be a certified researcher. */
export const Purpose = {
  care: 1,
  research: 2,
} as const;
export type PurposeName = keyof typeof Purpose;

/** Delegation: a patient appoints a guardian or carer. Signed by `patient`. `expiresAt` 0 means no expiry. */
export const appointDelegateTypes = {
  AppointDelegate: [
    { name: 'patient', type: 'address' },
    { name: 'delegate', type: 'address' },
    { name: 'kind', type: 'uint8' },
    { name: 'expiresAt', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/**
 * Delegation: revoke a delegate. Signed by the patient, or (for a patient flagged minor) by a current guardian revoking
 * a carer; the nonce is the signer's.
 */
export const revokeDelegateTypes = {
  RevokeDelegate: [
    { name: 'patient', type: 'address' },
    { name: 'delegate', type: 'address' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** Delegation: flag or unflag the patient as a minor (guardians may then revoke carers). Signed by `patient`. */
export const setMinorTypes = {
  SetMinor: [
    { name: 'patient', type: 'address' },
    { name: 'minor', type: 'bool' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/**
 * Delegation: commit to the patient's social-recovery guardians (a salted hash of the set, see guardianSetHash) and the
 * number of them needed to recover. Signed by `patient`. Both zero clears the commitment.
 */
export const setRecoveryGuardiansTypes = {
  SetRecoveryGuardians: [
    { name: 'patient', type: 'address' },
    { name: 'guardiansHash', type: 'bytes32' },
    { name: 'threshold', type: 'uint8' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/**
 * ConsentRegistry: grant `grantee` access to an opaque `scope` (a record id or scopeIdForCategory) of `owner` for a
 * Purpose. Signed by the owner or a current delegate of the owner. The nonce is the grant's own
 * (`grantNonce(owner, grantee, scope, purpose)`), not the signer's. `expiresAt` 0 means no expiry.
 */
export const grantConsentTypes = {
  GrantConsent: [
    { name: 'owner', type: 'address' },
    { name: 'grantee', type: 'address' },
    { name: 'scope', type: 'bytes32' },
    { name: 'purpose', type: 'uint8' },
    { name: 'expiresAt', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** ConsentRegistry: revoke a grant. Signed by the owner or a current delegate; the nonce is the grant's own. */
export const revokeConsentTypes = {
  RevokeConsent: [
    { name: 'owner', type: 'address' },
    { name: 'grantee', type: 'address' },
    { name: 'scope', type: 'bytes32' },
    { name: 'purpose', type: 'uint8' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/**
 * EmergencyAccess: a certified provider's break-glass request for a patient's emergency profile. Signed by
 * `provider`. `reasonHash` commits to the stated reason, kept off chain.
 */
export const breakGlassTypes = {
  BreakGlass: [
    { name: 'provider', type: 'address' },
    { name: 'patient', type: 'address' },
    { name: 'reasonHash', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/**
 * PeerReview: `candidate` applies for certification in `role`, bonding `bond` MED. `credentialHash` identifies the
 * credential; `evidencePointer` is the digest (CID) of the encrypted evidence blob. Signed by the candidate.
 */
export const applyForCertificationTypes = {
  ApplyForCertification: [
    { name: 'candidate', type: 'address' },
    { name: 'role', type: 'uint8' },
    { name: 'credentialHash', type: 'bytes32' },
    { name: 'evidencePointer', type: 'bytes32' },
    { name: 'bond', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** PeerReview: a drawn reviewer's sealed vote, relayed. Signed by `reviewer`. */
export const commitVoteTypes = {
  CommitVote: [
    { name: 'applicationId', type: 'uint256' },
    { name: 'reviewer', type: 'address' },
    { name: 'commitment', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/**
 * PeerReview: a certified provider challenges `subject`'s certification for `role`, bonding `bond` MED behind the
 * evidence whose digest is `evidenceHash`. Signed by the challenger.
 */
export const challengeCertificationTypes = {
  ChallengeCertification: [
    { name: 'challenger', type: 'address' },
    { name: 'subject', type: 'address' },
    { name: 'role', type: 'uint8' },
    { name: 'evidenceHash', type: 'bytes32' },
    { name: 'bond', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** PeerReview: the loser of case `applicationId` appeals it (once). Signed by the appellant. */
export const appealDecisionTypes = {
  AppealDecision: [
    { name: 'applicationId', type: 'uint256' },
    { name: 'appellant', type: 'address' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/**
 * PeerReview: what a vote commitment hashes, `keccak256(abi.encode(applicationId, reviewer, approve, salt))`, with a
 * secret random `salt`; use with viem's `encodeAbiParameters`.
 */
export const voteCommitmentParameters = [
  { name: 'applicationId', type: 'uint256' },
  { name: 'reviewer', type: 'address' },
  { name: 'approve', type: 'bool' },
  { name: 'salt', type: 'bytes32' },
] as const;

/** MPPoints: stake `amount` of the holder's free points. Signed by `holder`. */
export const stakeTypes = {
  Stake: [
    { name: 'holder', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** MPPoints: return `amount` of the holder's unlocked stake to its free points. Signed by `holder`. */
export const unstakeTypes = {
  Unstake: [
    { name: 'holder', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** Why a record is read: the consent purposes, plus break-glass emergency access. */
export const AccessPurpose = {
  care: 1,
  research: 2,
  emergency: 3,
} as const;
export type AccessPurposeName = keyof typeof AccessPurpose;

/** The outcome of a read, as the node records it in an access receipt. */
export const AccessOutcome = {
  granted: 1,
  denied: 2,
} as const;
export type AccessOutcomeName = keyof typeof AccessOutcome;

/**
 * Access audit (domain: the AccessLog contract). `AccessRequest` is signed by the requester before each read:
 * `record` is the record read (zero for a listing of `owner`'s records), `owner` may be zero when the requester does
 * not know it yet, `time` is the requester's clock (seconds). `AccessReceipt` is signed by the node that served or
 * refused it: the request, the owner it resolved, the owner's log sequence number (gap-free per owner, so a removed
 * entry is detected), the outcome and when it was logged. Receipts are batched into Merkle trees anchored on AccessLog.
 */
export const accessReceiptTypes = {
  AccessRequest: [
    { name: 'requester', type: 'address' },
    { name: 'owner', type: 'address' },
    { name: 'record', type: 'bytes32' },
    { name: 'purpose', type: 'uint8' },
    { name: 'time', type: 'uint64' },
  ],
  AccessReceipt: [
    { name: 'request', type: 'AccessRequest' },
    { name: 'owner', type: 'address' },
    { name: 'node', type: 'address' },
    { name: 'seq', type: 'uint64' },
    { name: 'outcome', type: 'uint8' },
    { name: 'loggedAt', type: 'uint64' },
  ],
} as const;

/**
 * A patient's published scope key (domain: the ConsentRegistry contract): the X25519 public key of `category` at
 * `epoch`, whose opaque on-chain id is `scopeId`. Writers wrap new records of that category to it, and check this
 * signature first so a node cannot substitute a key of its own. Signed by the owner or a current delegate.
 */
export const scopeKeyTypes = {
  ScopeKey: [
    { name: 'owner', type: 'address' },
    { name: 'category', type: 'string' },
    { name: 'epoch', type: 'uint32' },
    { name: 'scopeId', type: 'bytes32' },
    { name: 'publicKey', type: 'bytes32' },
  ],
} as const;

/**
 * A patient's emergency profile setup (domain: the EmergencyAccess contract): `profile` is the sha-256 digest of the
 * sealed profile and `shares` the hash of the share envelopes for the emergency key holders. Signed by the patient.
 */
export const emergencyProfileTypes = {
  EmergencyProfile: [
    { name: 'patient', type: 'address' },
    { name: 'profile', type: 'bytes32' },
    { name: 'shares', type: 'bytes32' },
    { name: 'threshold', type: 'uint8' },
    { name: 'time', type: 'uint64' },
  ],
} as const;

/**
 * The Merkle leaf of an access receipt: keccak256(keccak256(abi.encode(receiptDigest, keccak256(requesterSignature))))
 * where `receiptDigest` is the EIP-712 digest the node signed; double-hashed like batch leaves, so a leaf cannot be
 * taken for an inner node. A receipt without a requester signature (a refused, unsigned attempt) hashes an empty one.
 */
export function accessReceiptLeaf(receiptDigest: Hex, requesterSignature: Hex | null): Hex {
  const pair = new Uint8Array(64);
  pair.set(hexToBytes(receiptDigest), 0);
  pair.set(keccak256(hexToBytes(requesterSignature ?? '0x')), 32);
  return bytesToHex(keccak256(keccak256(pair)));
}
