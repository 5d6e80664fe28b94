/** @medbloc/storage — content-addressed blob stores for ciphertext: the port, its adapters and their contract suite. */
export * from './cid.ts';
export * from './disk.ts';
export * from './errors.ts';
export * from './memory.ts';
export * from './port.ts';
