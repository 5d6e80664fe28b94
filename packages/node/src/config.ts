/**
 * Node configuration, parsed once at the edge (environment + flags) into one typed object and passed down.
 * Embedded defaults: a local anvil chain persisted under the data dir, blobs on disk, SQLite indexes.
 */
import path from 'node:path';
import type { Hex } from 'viem';

export interface NodeConfig {
  /** Data directory: chain state, blobs, database, operator key. */
  home: string;
  host: string;
  port: number;
  /** External EVM JSON-RPC endpoint; when absent the node runs its own anvil. */
  rpcUrl: string | undefined;
  /** Port for the embedded anvil (0 = pick a free one; default 7545). */
  chainPort: number;
  /** Operator (relayer) private key for an external chain; the embedded chain uses its first dev account. */
  operatorKey: Hex | undefined;
  /** Largest single upload accepted, bytes. */
  maxUploadBytes: number;
  /** Free storage per account, bytes. */
  freeQuotaBytes: number;
  /** Addresses granted the authority role at start (embedded chain only, by the admin). */
  authorities: Hex[];
  /** Indexer poll interval, ms. */
  pollIntervalMs: number;
  /** How often pending access receipts are anchored on AccessLog, ms. */
  auditIntervalMs: number;
  /** Emergency key holders run inside this node (embedded default): how many, and how many release a profile. */
  emergencyHolders: number;
  emergencyThreshold: number;
  /** Keystore of the identity the FHIR API at /fhir acts for; without it /fhir is not served. */
  fhirKeystore: string | undefined;
  fhirPassphrase: string | undefined;
  /** FHIR requests need a SMART access token (MEDBLOC_FHIR_REQUIRE_TOKEN=1); otherwise a token only narrows access. */
  fhirRequireToken: boolean;
}

const GiB = 1024 ** 3;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

function intFrom(env: Record<string, string | undefined>, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ConfigError(`${key} must be a non-negative integer, got "${raw}"`);
  return n;
}

/** Reads MEDBLOC_* variables; `overrides` (from CLI flags) win. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<NodeConfig> = {},
): NodeConfig {
  const key = env.MEDBLOC_OPERATOR_KEY;
  if (key !== undefined && key !== '' && !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new ConfigError('MEDBLOC_OPERATOR_KEY must be a 0x-prefixed 32-byte hex private key');
  }
  const authorities = (env.MEDBLOC_AUTHORITIES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const a of authorities) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(a))
      throw new ConfigError(`MEDBLOC_AUTHORITIES: "${a}" is not an address`);
  }
  const config: NodeConfig = {
    home: path.resolve(env.MEDBLOC_HOME || '.medbloc'),
    host: env.MEDBLOC_HOST || '127.0.0.1',
    port: intFrom(env, 'MEDBLOC_PORT', 7400),
    rpcUrl: env.MEDBLOC_RPC_URL || undefined,
    chainPort: intFrom(env, 'MEDBLOC_CHAIN_PORT', 7545),
    operatorKey: (key || undefined) as Hex | undefined,
    maxUploadBytes: intFrom(env, 'MEDBLOC_MAX_UPLOAD_BYTES', 8 * GiB),
    freeQuotaBytes: intFrom(env, 'MEDBLOC_FREE_QUOTA_BYTES', GiB),
    authorities: authorities as Hex[],
    pollIntervalMs: intFrom(env, 'MEDBLOC_POLL_MS', 500),
    auditIntervalMs: intFrom(env, 'MEDBLOC_AUDIT_INTERVAL_MS', 2000),
    emergencyHolders: intFrom(env, 'MEDBLOC_EMERGENCY_HOLDERS', 3),
    emergencyThreshold: intFrom(env, 'MEDBLOC_EMERGENCY_THRESHOLD', 2),
    fhirKeystore: env.MEDBLOC_FHIR_KEYSTORE ? path.resolve(env.MEDBLOC_FHIR_KEYSTORE) : undefined,
    fhirPassphrase: env.MEDBLOC_FHIR_PASSPHRASE || undefined,
    fhirRequireToken: /^(1|true|yes)$/i.test(env.MEDBLOC_FHIR_REQUIRE_TOKEN ?? ''),
  };
  if (config.emergencyThreshold < 2 || config.emergencyThreshold > config.emergencyHolders)
    throw new ConfigError('MEDBLOC_EMERGENCY_THRESHOLD must be from 2 to MEDBLOC_EMERGENCY_HOLDERS');
  return { ...config, ...overrides };
}
