/**
 * The part of @medbloc/core that runs anywhere — browsers included: identities, keystore, sealing, envelopes, CIDs,
 * Merkle trees, EIP-712 types, scope ids, Shamir shares. (FHIR validation reads the R4 definitions from disk and lives
 * in the main entry.)
 */

export * from './access-key.ts';
export * from './anchor.ts';
export { equalBytes, fromBase64Url, nodeBuiltin, toBase64Url } from './bytes.ts';
export * from './cid.ts';
export * from './eip712.ts';
export * from './envelope.ts';
export * from './errors.ts';
export * from './identity.ts';
export * from './keystore.ts';
export * from './merkle.ts';
export * from './scope.ts';
export * from './seal.ts';
export * from './seal-batch.ts';
export * from './shamir.ts';
export * from './typed-hash.ts';
export type * from './wire.ts';
