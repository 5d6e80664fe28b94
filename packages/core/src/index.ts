/** @medbloc/core — the pure domain shared by every MedBloc process. No I/O. */
export * from './fhir/index.ts';
export * from './portable.ts';
