/**
 * Library linking: a contract that calls a library's public functions (e.g. AnonymousBallot through Semaphore's
 * Merkle tree, which hashes with PoseidonT3) is compiled with placeholders where the library's address goes. Deploy
 * the library first, then link its address into the contract's creation bytecode before deploying the contract.
 */

/** Where library placeholders sit in a contract's bytecode: source unit → library name → byte ranges. */
export type LinkReferences = Readonly<
  Record<string, Readonly<Record<string, readonly { readonly start: number; readonly length: number }[]>>>
>;

export class UnlinkedLibraryError extends Error {
  static readonly code = 'CONTRACT_UNLINKED_LIBRARY';
  override name = 'UnlinkedLibraryError';
}

/**
 * Writes each library's address over its placeholders. `libraries` is keyed by library name (`PoseidonT3`) or by
 * `unit:name` (`poseidon-solidity/PoseidonT3.sol:PoseidonT3`); every referenced library must be given.
 *
 * @example
 * const bytecode = linkBytecode(anonymousBallotBytecode, anonymousBallotLinkReferences, { PoseidonT3: poseidon });
 */
export function linkBytecode(
  bytecode: `0x${string}`,
  linkReferences: LinkReferences,
  libraries: Readonly<Record<string, `0x${string}`>>,
): `0x${string}` {
  let hex = bytecode.slice(2);
  for (const [unit, byName] of Object.entries(linkReferences)) {
    for (const [name, ranges] of Object.entries(byName)) {
      const address = libraries[`${unit}:${name}`] ?? libraries[name];
      if (!address || !/^0x[0-9a-fA-F]{40}$/.test(address)) {
        throw new UnlinkedLibraryError(`library ${unit}:${name} needs a 20-byte address to link`);
      }
      const body = address.slice(2).toLowerCase();
      for (const { start, length } of ranges) {
        hex = hex.slice(0, start * 2) + body.slice(0, length * 2) + hex.slice((start + length) * 2);
      }
    }
  }
  return `0x${hex}`;
}
