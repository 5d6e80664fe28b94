import { createMemoryBlobStore } from './memory.ts';
import { blobStoreSuite } from './suite.ts';

const verifyFirstBelow = 1024 * 1024;

blobStoreSuite('memory', async () => {
  const blobs = new Map<string, Uint8Array>();
  const bytesOf = (key: string) => {
    const b = blobs.get(key);
    if (b === undefined) throw new Error(`tamper: ${key} is not stored`);
    return b;
  };
  return {
    store: createMemoryBlobStore({ blobs, verifyFirstBelow }),
    verifyFirstBelow,
    async tamper(cid, how, other) {
      const key = cid.toString();
      const bytes = bytesOf(key);
      if (how === 'flip') bytes[bytes.length >> 1]! ^= 0x01;
      else if (how === 'truncate') blobs.set(key, bytes.slice(0, bytes.length >> 1));
      else blobs.set(key, bytesOf(String(other)).slice());
    },
    async cleanup() {
      blobs.clear();
    },
  };
});
