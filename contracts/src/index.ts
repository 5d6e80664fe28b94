/** @medbloc/contracts — ABIs and creation bytecode of the MedBloc contracts, typed for viem. */
export * from './generated/artifacts.ts';
export * from './link.ts';
