/**
 * Sign-In with Ethereum (EIP-4361): the node issues single-use nonces; a client signs a SIWE message with its
 * account key and gets a bearer session token. Tokens are stored hashed, so the database can't be replayed. A SIWE
 * message may delegate to an Ed25519 access key (a resource `urn:medbloc:access-key:ed25519:<hex>`) that then signs
 * the session's access requests; the node keeps the message and signature as the delegation's proof.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ACCESS_KEY_RESOURCE_PREFIX, ACCESS_KEY_TTL_SECONDS, accessKeyOf } from '@medbloc/core';
import { type Address, getAddress, type Hex, verifyMessage } from 'viem';
import { generateSiweNonce, parseSiweMessage } from 'viem/siwe';
import type { Db } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';

const NONCE_TTL_MS = 10 * 60_000;
const SESSION_TTL_MS = ACCESS_KEY_TTL_SECONDS * 1000;

export type AuthService = ReturnType<typeof createAuthService>;

export function createAuthService(deps: { db: Db; chainId: number }) {
  const { db } = deps;
  const hash = (token: string) => createHash('sha256').update(token).digest('hex');

  return {
    nonce(): string {
      const nonce = generateSiweNonce();
      db.sessions.createNonce(nonce, Date.now() + NONCE_TTL_MS);
      return nonce;
    },
    async login(input: { message: string; signature: Hex }, expectedDomain: string) {
      const m = parseSiweMessage(input.message);
      if (!m.address || !m.nonce || !m.domain || m.chainId === undefined) {
        throw new NodeError('UNAUTHENTICATED', 'not a complete SIWE (EIP-4361) message');
      }
      if (m.domain !== expectedDomain)
        throw new NodeError('UNAUTHENTICATED', `SIWE domain must be ${expectedDomain}, got ${m.domain}`);
      if (m.chainId !== deps.chainId)
        throw new NodeError('UNAUTHENTICATED', `SIWE chain id must be ${deps.chainId}`);
      const now = new Date();
      if (m.expirationTime && m.expirationTime <= now)
        throw new NodeError('SIGNATURE_EXPIRED', 'the SIWE message has expired');
      if (m.notBefore && m.notBefore > now)
        throw new NodeError('UNAUTHENTICATED', 'the SIWE message is not valid yet');
      if (m.issuedAt && m.issuedAt.getTime() > now.getTime() + 300_000)
        throw new NodeError('UNAUTHENTICATED', 'the SIWE message is issued in the future; check your clock');
      const ok = await verifyMessage({
        address: m.address,
        message: input.message,
        signature: input.signature,
      }).catch(() => false);
      if (!ok) throw new NodeError('INVALID_SIGNATURE', 'the SIWE signature does not match its address');
      const accessKey = accessKeyOf(m.resources);
      if (!accessKey && m.resources?.some((r) => r.startsWith(ACCESS_KEY_RESOURCE_PREFIX)))
        throw new NodeError(
          'UNAUTHENTICATED',
          'the access key resource must carry a 32-byte Ed25519 key in hex',
        );
      if (!db.sessions.takeNonce(m.nonce))
        throw new NodeError('SIGNATURE_REPLAYED', 'unknown, used or expired SIWE nonce');
      if (accessKey) {
        // Kept for good: audits check old receipts against the delegation that authorised their signatures.
        db.accessKeys.put({
          key: accessKey,
          address: getAddress(m.address),
          message: input.message,
          signature: input.signature,
          expires_at:
            Math.floor(Math.min((m.issuedAt ?? now).getTime(), now.getTime()) / 1000) +
            ACCESS_KEY_TTL_SECONDS,
        });
      }
      const token = randomBytes(32).toString('base64url');
      const expiresAt = Date.now() + SESSION_TTL_MS;
      db.sessions.create(hash(token), getAddress(m.address), expiresAt);
      return { token, address: getAddress(m.address), expiresAt: new Date(expiresAt).toISOString() };
    },
    /** The session's address, or an UNAUTHENTICATED error. */
    authenticate(token: string | undefined): Address {
      if (!token)
        throw new NodeError(
          'UNAUTHENTICATED',
          'sign in first (POST /v1/auth/login) and send "Authorization: Bearer <token>"',
        );
      const s = db.sessions.get(hash(token));
      if (!s || s.expires_at <= Date.now())
        throw new NodeError('UNAUTHENTICATED', 'unknown or expired session; sign in again');
      return s.address as Address;
    },
  };
}
