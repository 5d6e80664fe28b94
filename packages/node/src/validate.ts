/** Boundary validation of request bodies: precise messages, typed results; the domain trusts what passes. */
import type { Address, Hex } from 'viem';
import { getAddress } from 'viem';
import { NodeError } from './errors.ts';

type Obj = Record<string, unknown>;

export function object(v: unknown, what = 'body'): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be a JSON object`);
  return v as Obj;
}

export function address(o: Obj, key: string): Address {
  const v = o[key];
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v))
    throw bad(`"${key}" must be a 0x-prefixed address`);
  return getAddress(v);
}

export function bytes32(o: Obj, key: string): Hex {
  const v = o[key];
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(v))
    throw bad(`"${key}" must be 0x-prefixed 32-byte hex`);
  return v.toLowerCase() as Hex;
}

export function signature(o: Obj, key = 'signature'): Hex {
  const v = o[key];
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(v))
    throw bad(`"${key}" must be a 65-byte hex signature`);
  return v as Hex;
}

export function uint(o: Obj, key: string): bigint {
  const v = o[key];
  if (
    (typeof v === 'string' && /^\d{1,78}$/.test(v)) ||
    (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
  ) {
    return BigInt(v);
  }
  throw bad(`"${key}" must be a non-negative integer (number or decimal string)`);
}

export function string(o: Obj, key: string, max = 1 << 20): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw bad(`"${key}" must be a non-empty string`);
  return v;
}

export function optionalString(o: Obj, key: string, max = 1 << 20): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : string(o, key, max);
}

export function array(o: Obj, key: string, max: number): unknown[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length === 0) throw bad(`"${key}" must be a non-empty array`);
  if (v.length > max) throw bad(`"${key}" has ${v.length} items; at most ${max} are accepted`);
  return v;
}

function bad(message: string) {
  return new NodeError('INVALID_BODY', message);
}
