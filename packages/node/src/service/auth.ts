/**
 * Sign-In with Ethereum (EIP-4361): the node issues single-use nonces; a client signs a SIWE message with its
 * account key and gets a bearer session token. Tokens are stored hashed, so the database can't be replayed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Address, getAddress, type Hex, verifyMessage } from 'viem';
import { generateSiweNonce, parseSiweMessage } from 'viem/siwe';
import type { Db } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';

const NONCE_TTL_MS = 10 * 60_000;
const SESSION_TTL_MS = 12 * 60 * 60_000;

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
      const ok = await verifyMessage({
        address: m.address,
        message: input.message,
        signature: input.signature,
      }).catch(() => false);
      if (!ok) throw new NodeError('INVALID_SIGNATURE', 'the SIWE signature does not match its address');
      if (!db.sessions.takeNonce(m.nonce))
        throw new NodeError('SIGNATURE_REPLAYED', 'unknown, used or expired SIWE nonce');
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
