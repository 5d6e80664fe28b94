/**
 * EIP-712 digests for the hot paths (one access request per read, one receipt per access): the same bytes as viem's
 * `hashTypedData`, with the type hashes and the domain separator computed once and each struct encoded straight into
 * one buffer. Supports the static types our typed data uses (address, bytes32, uintN, bool, string, nested structs).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import {
  type Address,
  bytesToHex,
  getAddress,
  getTypesForEIP712Domain,
  type Hex,
  hashDomain,
  hexToBytes,
  type TypedDataDomain,
} from 'viem';

type Field = { readonly name: string; readonly type: string };
type Types = Readonly<Record<string, readonly Field[]>>;

/** encodeType: the primary type, then its referenced struct types sorted by name. */
function encodeType(types: Types, primary: string): string {
  const deps = new Set<string>();
  const visit = (t: string) => {
    for (const f of types[t] ?? []) {
      if (types[f.type] && !deps.has(f.type) && f.type !== primary) {
        deps.add(f.type);
        visit(f.type);
      }
    }
  };
  visit(primary);
  const one = (t: string) => `${t}(${(types[t] ?? []).map((f) => `${f.type} ${f.name}`).join(',')})`;
  return [primary, ...[...deps].sort()].map(one).join('');
}

const te = new TextEncoder();

function word(type: string, value: unknown, out: Uint8Array, at: number) {
  if (type === 'address' || type === 'bytes32') {
    const bytes = hexToBytes(value as Hex);
    if (type === 'address' ? bytes.length !== 20 : bytes.length !== 32)
      throw new TypeError(`invalid ${type}: ${String(value)}`);
    out.set(bytes, at + 32 - bytes.length);
  } else if (type === 'bool') {
    out[at + 31] = value ? 1 : 0;
  } else if (type === 'string') {
    out.set(keccak_256(te.encode(value as string)), at);
  } else if (/^uint(8|16|32|64|128|256)$/.test(type)) {
    let v = BigInt(value as bigint | number);
    const bits = BigInt(type.slice(4));
    if (v < 0n || v >> bits !== 0n) throw new TypeError(`${type} out of range: ${v}`);
    for (let i = 31; v > 0n; i--, v >>= 8n) out[at + i] = Number(v & 0xffn);
  } else {
    throw new TypeError(`unsupported EIP-712 field type ${type}`);
  }
}

/** hashStruct for `primary`, compiled once per type set. */
function structHasher(types: Types, primary: string): (message: Record<string, unknown>) => Uint8Array {
  const typeHash = keccak_256(te.encode(encodeType(types, primary)));
  const fields = (types[primary] ?? []).map((f) => ({
    name: f.name,
    type: f.type,
    nested: types[f.type] ? structHasher(types, f.type) : undefined,
  }));
  return (message) => {
    const buf = new Uint8Array(32 * (fields.length + 1));
    buf.set(typeHash, 0);
    fields.forEach((f, i) => {
      const value = message[f.name];
      if (f.nested) buf.set(f.nested(value as Record<string, unknown>), 32 * (i + 1));
      else word(f.type, value, buf, 32 * (i + 1));
    });
    return keccak_256(buf);
  };
}

/**
 * A digest function for `primaryType` messages under one domain: `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct)`.
 * Build it once (per domain) and reuse it.
 */
export function typedDigester<T extends Types>(
  domain: TypedDataDomain,
  types: T,
  primaryType: keyof T & string,
): (message: Record<string, unknown>) => Hex {
  const separator = hexToBytes(
    hashDomain({
      domain: domain as never,
      types: { EIP712Domain: getTypesForEIP712Domain({ domain }) } as never,
    }),
  );
  const hash = structHasher(types, primaryType);
  return (message) => {
    const buf = new Uint8Array(66);
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf.set(separator, 2);
    buf.set(hash(message), 34);
    return bytesToHex(keccak_256(buf));
  };
}

/**
 * The address that signed a 32-byte digest (a 65-byte r ‖ s ‖ v signature, v 27/28 or 0/1), or undefined when the
 * signature is malformed, high-s or does not recover. Uses noble-curves' GLV-accelerated recovery directly.
 */
export function recoverDigestSigner(digest: Hex, signature: Hex): Address | undefined {
  try {
    const sig = hexToBytes(signature);
    if (sig.length !== 65) return undefined;
    const v = sig[64]! >= 27 ? sig[64]! - 27 : sig[64]!;
    if (v > 1) return undefined;
    const recovered = new Uint8Array(65);
    recovered[0] = v;
    recovered.set(sig.subarray(0, 64), 1);
    const s = secp256k1.Signature.fromBytes(recovered, 'recovered');
    if (s.hasHighS()) return undefined;
    const point = s.recoverPublicKey(hexToBytes(digest));
    const uncompressed = point.toBytes(false);
    return getAddress(bytesToHex(keccak_256(uncompressed.subarray(1)).subarray(12)));
  } catch {
    return undefined;
  }
}
