/** @medbloc/core — the pure domain shared by every MedBloc process. No I/O. */
export * from './eip712.ts';
export * from './anchor.ts';
export * from './fhir/index.ts';
