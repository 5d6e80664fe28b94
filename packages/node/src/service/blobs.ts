/**
 * Ciphertext uploads: streamed straight to the blob store with the size limit and the uploader's storage quota
 * enforced while bytes arrive, so an oversized upload is cut off early and leaves nothing behind.
 */
import type { BlobStore } from '@medbloc/storage';
import type { Address } from 'viem';
import type { Db } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';

export type BlobsService = ReturnType<typeof createBlobsService>;

export function createBlobsService(deps: {
  db: Db;
  blobs: BlobStore;
  maxUploadBytes: number;
  freeQuotaBytes: number;
}) {
  const { db, blobs } = deps;
  const usage = (account: Address) => {
    const used = db.blobs.usage(account.toLowerCase());
    return { used, quota: deps.freeQuotaBytes, available: Math.max(deps.freeQuotaBytes - used, 0) };
  };
  return {
    usage,
    async upload(caller: Address, source: AsyncIterable<Uint8Array>, declaredLength?: number) {
      const { available } = usage(caller);
      const tooLarge = () =>
        new NodeError('UPLOAD_TOO_LARGE', `uploads are limited to ${deps.maxUploadBytes} bytes`, {
          limit: deps.maxUploadBytes,
        });
      const overQuota = () =>
        new NodeError('QUOTA_EXCEEDED', `this upload exceeds your storage quota (${available} bytes left)`, {
          available,
        });
      if (declaredLength !== undefined && declaredLength > deps.maxUploadBytes) throw tooLarge();
      if (declaredLength !== undefined && declaredLength > available) throw overQuota();
      const maxBytes = Math.min(deps.maxUploadBytes, available);
      try {
        const { cid, size } = await blobs.put(source, { maxBytes });
        db.blobs.record(cid.toString(), caller.toLowerCase(), size);
        return { cid: cid.toString(), size };
      } catch (err) {
        if ((err as { code?: string }).code === 'BLOB_TOO_LARGE')
          throw maxBytes < deps.maxUploadBytes ? overQuota() : tooLarge();
        throw err;
      }
    },
  };
}
