import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { DecryptionFailedError, KeyCommitmentMismatchError } from './errors.ts';
import {
  generateDataKey,
  keyCommitment,
  keyCommitmentOfSealed,
  openBytes,
  openRange,
  openStream,
  plaintextSize,
  readHeader,
  SEAL_HEADER_SIZE,
  sealBytes,
  sealedSize,
  sealStream,
  verifyKeyCommitment,
} from './seal.ts';

const DEK = new Uint8Array(32).map((_, i) => i);
const SALT = new Uint8Array(16).fill(0xaa);

/** Independent reference implementation of the format, straight from the spec, with node:crypto. */
function referenceSeal(plain: Uint8Array, dek: Uint8Array, salt: Uint8Array, chunkSize: number): Uint8Array {
  const header = Buffer.alloc(24);
  header.write('MBS1', 0, 'ascii');
  header.writeUInt32BE(chunkSize, 4);
  header.set(salt, 8);
  const key = Buffer.from(hkdfSync('sha256', dek, salt, 'medbloc payload v1', 32));
  const parts: Buffer[] = [header];
  const count = Math.max(1, Math.ceil(plain.length / chunkSize));
  for (let i = 0; i < count; i++) {
    const nonce = Buffer.alloc(12);
    nonce.writeUIntBE(i, 5, 6); // 11-byte big-endian counter (small i)
    nonce[11] = i === count - 1 ? 1 : 0;
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(header);
    parts.push(c.update(plain.subarray(i * chunkSize, (i + 1) * chunkSize)), c.final(), c.getAuthTag());
  }
  return new Uint8Array(Buffer.concat(parts));
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

/** Splits bytes into pieces of random sizes, including empty ones. */
function* randomPieces(bytes: Uint8Array, max: number): Generator<Uint8Array> {
  let at = 0;
  while (at < bytes.length) {
    const n = Math.floor(Math.random() * (max + 1));
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

test('matches an independent implementation of the format (both engines)', async () => {
  for (const size of [0, 1, 15, 16, 17, 32, 40, 100]) {
    const plain = new Uint8Array(size).map((_, i) => i * 7);
    const expected = referenceSeal(plain, DEK, SALT, 16);
    for (const engine of ['node', 'webcrypto'] as const) {
      const got = await sealBytes(plain, DEK, { chunkSize: 16, salt: SALT, engine });
      assert.deepEqual(got, expected, `size ${size} engine ${engine}`);
    }
  }
});

test('the payload key derivation agrees with the reference for random keys and salts (both engines)', async () => {
  for (let i = 0; i < 50; i++) {
    const dek = new Uint8Array(randomBytes(32));
    const salt = new Uint8Array(randomBytes(16));
    const plain = new Uint8Array(randomBytes(i));
    const expected = referenceSeal(plain, dek, salt, 64);
    assert.deepEqual(await sealBytes(plain, dek, { chunkSize: 64, salt, engine: 'node' }), expected);
    assert.deepEqual(await sealBytes(plain, dek, { chunkSize: 64, salt, engine: 'webcrypto' }), expected);
  }
});

test('known answer: 100 bytes, 64-byte chunks', async () => {
  const plain = new Uint8Array(100).map((_, i) => i);
  const sealed = await sealBytes(plain, DEK, { chunkSize: 64, salt: SALT });
  assert.equal(sealed.length, 24 + 100 + 2 * 16);
  assert.equal(
    Buffer.from(sealed.subarray(0, 24)).toString('hex'),
    '4d42533100000040aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  );
  assert.equal(
    createHash('sha256').update(sealed).digest('hex'),
    createHash('sha256')
      .update(referenceSeal(plain, DEK, SALT, 64))
      .digest('hex'),
  );
});

test('node:crypto and WebCrypto engines produce identical bytes and open each other', async () => {
  const plain = randomBytes(300_001);
  const a = await sealBytes(plain, DEK, { chunkSize: 4096, salt: SALT, engine: 'node' });
  const b = await sealBytes(plain, DEK, { chunkSize: 4096, salt: SALT, engine: 'webcrypto' });
  assert.deepEqual(a, b);
  assert.deepEqual(await openBytes(a, DEK, { engine: 'webcrypto' }), new Uint8Array(plain));
  assert.deepEqual(await openBytes(b, DEK, { engine: 'node' }), new Uint8Array(plain));
});

test('streams round-trip whatever the input and ciphertext piece sizes', async () => {
  for (const chunkSize of [1, 7, 64, 1000]) {
    for (const size of [0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize, 5000]) {
      const plain = new Uint8Array(randomBytes(size));
      const dek = generateDataKey();
      const sealed = await collect(sealStream(randomPieces(plain, 2 * chunkSize + 3), dek, { chunkSize }));
      assert.equal(sealed.length, sealedSize(size, chunkSize));
      assert.equal(plaintextSize(sealed.length, chunkSize), size);
      const opened = await collect(openStream(randomPieces(sealed, 3 * chunkSize), dek));
      assert.deepEqual(opened, plain, `chunkSize ${chunkSize} size ${size}`);
    }
  }
});

test('a fresh salt per blob: sealing the same input twice gives different ciphertexts', async () => {
  const plain = new Uint8Array(10);
  assert.notDeepEqual(await sealBytes(plain, DEK), await sealBytes(plain, DEK));
});

test('tampering, wrong key, truncation, extension and reordering all throw DecryptionFailedError', async () => {
  const chunkSize = 32;
  const plain = new Uint8Array(randomBytes(100)); // chunks of 32, 32, 32, 4
  const sealed = await sealBytes(plain, DEK, { chunkSize });
  const stride = chunkSize + 16;
  const chunk = (i: number) => sealed.subarray(24 + i * stride, 24 + (i + 1) * stride);
  const header = sealed.subarray(0, 24);
  const cases: Record<string, Uint8Array> = {
    'empty input': new Uint8Array(0),
    'header only': header,
    'truncated header': sealed.subarray(0, 20),
    'final chunk dropped': sealed.subarray(0, 24 + 3 * stride),
    'cut inside the final tag': sealed.subarray(0, sealed.length - 1),
    'cut to a partial tag': sealed.subarray(0, 24 + 3 * stride + 10),
    'byte appended': Buffer.concat([sealed, new Uint8Array([0])]),
    'chunk appended after final': Buffer.concat([sealed, chunk(0)]),
    'chunks 0 and 1 swapped': Buffer.concat([header, chunk(1), chunk(0), sealed.subarray(24 + 2 * stride)]),
    'chunk duplicated': Buffer.concat([header, chunk(0), chunk(0), sealed.subarray(24 + 2 * stride)]),
  };
  for (const [at, what] of [
    [0, 'magic'],
    [5, 'chunk size'],
    [10, 'salt'],
    [30, 'ciphertext'],
    [24 + stride - 1, 'tag'],
    [sealed.length - 1, 'final tag'],
  ] as const) {
    const t = sealed.slice();
    t[at]! ^= 1;
    cases[`flipped ${what}`] = t;
  }
  for (const [name, bytes] of Object.entries(cases)) {
    await assert.rejects(openBytes(new Uint8Array(bytes), DEK), DecryptionFailedError, name);
  }
  await assert.rejects(openBytes(sealed, generateDataKey()), DecryptionFailedError, 'wrong key');
});

test('plaintext is only released after its chunk authenticates', async () => {
  const sealed = await sealBytes(new Uint8Array(100), DEK, { chunkSize: 32 });
  sealed[24 + 48 + 5]! ^= 1; // second chunk
  const released: Uint8Array[] = [];
  await assert.rejects(async () => {
    for await (const p of openStream([sealed], DEK)) released.push(p);
  }, DecryptionFailedError);
  assert.equal(released.length, 1);
  assert.equal(released[0]!.length, 32);
});

test('key commitment is HMAC-SHA256(DEK, label ‖ header) and is checked before decrypting', async () => {
  const sealed = await sealBytes(new Uint8Array(5), DEK, { salt: SALT });
  const header = readHeader(sealed);
  assert.equal(header.chunkSize, 65536);
  assert.deepEqual(header.salt, SALT);
  const expected = createHmac('sha256', DEK)
    .update(Buffer.concat([Buffer.from('medbloc key commitment v1'), sealed.subarray(0, SEAL_HEADER_SIZE)]))
    .digest('hex');
  const commitment = keyCommitmentOfSealed(DEK, sealed);
  assert.equal(commitment, `0x${expected}`);
  assert.equal(keyCommitment(DEK, header), commitment);
  assert.ok(verifyKeyCommitment(DEK, header, commitment));
  assert.ok(!verifyKeyCommitment(generateDataKey(), header, commitment));
  assert.deepEqual(await openBytes(sealed, DEK, { keyCommitment: commitment }), new Uint8Array(5));
  const other = await sealBytes(new Uint8Array(5), DEK);
  assert.notEqual(keyCommitmentOfSealed(DEK, other), commitment);
  await assert.rejects(
    openBytes(other, DEK, { keyCommitment: commitment }),
    (e) => e instanceof KeyCommitmentMismatchError,
  );
});

test('sealedSize and plaintextSize agree and reject impossible sizes', () => {
  assert.equal(sealedSize(0, 16), 24 + 16);
  assert.equal(sealedSize(16, 16), 24 + 16 + 16);
  assert.equal(sealedSize(17, 16), 24 + 17 + 32);
  assert.equal(sealedSize(2 ** 30), 24 + 2 ** 30 + 16 * 16384);
  for (const n of [0, 1, 15, 16, 17, 1000]) assert.equal(plaintextSize(sealedSize(n, 16), 16), n);
  assert.throws(() => plaintextSize(24 + 10, 16), DecryptionFailedError);
  assert.throws(() => plaintextSize(24 + 32 + 5, 16), DecryptionFailedError);
});

test('openRange decrypts any byte range, reading only the covering chunks', async () => {
  const chunkSize = 100;
  const plain = new Uint8Array(randomBytes(1234));
  const sealed = await sealBytes(plain, DEK, { chunkSize });
  let fetched = 0;
  const fetchRange = async (s: number, e: number) => {
    const part = sealed.slice(s, Math.min(e, sealed.length));
    fetched += part.length;
    return part;
  };
  for (const [offset, length] of [
    [0, 0],
    [0, 1],
    [0, 1234],
    [99, 2],
    [100, 100],
    [1200, 34],
    [1200, 500],
    [1233, 1],
    [1234, 10],
    [5000, 10],
    [400, 0],
  ] as const) {
    assert.deepEqual(
      await openRange(fetchRange, DEK, offset, length),
      plain.slice(offset, offset + length),
      `${offset}+${length}`,
    );
  }
  for (let k = 0; k < 50; k++) {
    const offset = Math.floor(Math.random() * 1300);
    const length = Math.floor(Math.random() * 300);
    assert.deepEqual(await openRange(fetchRange, DEK, offset, length), plain.slice(offset, offset + length));
  }
  fetched = 0;
  await openRange(fetchRange, DEK, 500, 10);
  assert.ok(fetched <= 24 + 116 + 1, `fetched ${fetched}`);
});

test('openRange detects truncation and tampering', async () => {
  const plain = new Uint8Array(randomBytes(1000));
  const sealed = await sealBytes(plain, DEK, { chunkSize: 100 });
  const truncated = sealed.subarray(0, 24 + 5 * 116); // five full chunks, final flag never seen
  const from = (blob: Uint8Array) => async (s: number, e: number) => blob.slice(s, Math.min(e, blob.length));
  await assert.rejects(openRange(from(truncated), DEK, 450, 100), DecryptionFailedError);
  await assert.rejects(openRange(from(truncated), DEK, 700, 10), DecryptionFailedError);
  await assert.rejects(openRange(from(truncated), DEK, 580, 10), DecryptionFailedError);
  const tampered = sealed.slice();
  tampered[24 + 116 * 3 + 1]! ^= 1;
  await assert.rejects(openRange(from(tampered), DEK, 350, 10), DecryptionFailedError);
  assert.deepEqual(await openRange(from(tampered), DEK, 150, 10), plain.slice(150, 160));
});
