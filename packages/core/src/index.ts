/** @medbloc/core — the pure domain shared by every MedBloc process. No I/O. */
export * from './eip712.ts';
export * from './anchor.ts';
export * from './fhir/index.ts';
export * from './errors.ts';
export { equalBytes, fromBase64Url, toBase64Url } from './bytes.ts';
export * from './identity.ts';
export * from './keystore.ts';
export * from './seal.ts';
export * from './envelope.ts';
export * from './cid.ts';
export * from './merkle.ts';
