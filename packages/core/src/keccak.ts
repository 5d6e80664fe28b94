/**
 * Keccak-256 for the hashes computed per record (record ids, batch leaves, Merkle nodes): hash-wasm's WebAssembly
 * build, about seven times @noble/hashes' on these 64–160-byte inputs, with @noble/hashes as the fallback until the
 * module has compiled (it is embedded, so that is one tick after import) or where WebAssembly is not allowed (a page
 * whose content security policy forbids it). Both give the same bytes; the hashes are of public data, so a timing
 * difference between them reveals nothing.
 */
import { keccak_256 as portableKeccak256 } from '@noble/hashes/sha3.js';
import { createKeccak, type IHasher } from 'hash-wasm';

let wasm: IHasher | undefined;

/** Resolves once the WebAssembly hasher is in use (or has been found unavailable). */
export const keccakReady: Promise<void> = createKeccak(256).then(
  (hasher) => {
    wasm = hasher;
  },
  () => undefined,
);

/** Which implementation {@link keccak256} runs now. */
export function keccakEngine(): 'wasm' | 'portable' {
  return wasm ? 'wasm' : 'portable';
}

/** Keccak-256 (the Ethereum variant, not SHA3-256) of `data`. */
export function keccak256(data: Uint8Array): Uint8Array {
  if (!wasm) return portableKeccak256(data);
  wasm.init();
  wasm.update(data);
  return wasm.digest('binary');
}
