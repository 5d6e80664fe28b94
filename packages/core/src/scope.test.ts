import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { InvalidArgumentError } from './errors.ts';
import { generateScopeKey, SCOPE_KEY_LENGTH, scopeIdForCategory } from './scope.ts';

const secret = new Uint8Array(randomBytes(32));

/** The documented construction, written independently with node:crypto. */
function reference(key: Uint8Array, category: string, epoch: number): string {
  const name = Buffer.from(category.normalize('NFC'), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(name.length);
  const ep = Buffer.alloc(4);
  ep.writeUInt32BE(epoch);
  const mac = createHmac('sha256', key);
  mac.update(Buffer.concat([Buffer.from('medbloc scope id v1'), len, name, ep]));
  return `0x${mac.digest('hex')}`;
}

test('a scope id is the keyed hash of the category and epoch (bytes32 hex)', () => {
  const id = scopeIdForCategory(secret, 'laboratory', 0);
  assert.match(id, /^0x[0-9a-f]{64}$/);
  assert.equal(id, reference(secret, 'laboratory', 0));
  assert.equal(scopeIdForCategory(secret, 'laboratory', 0), id, 'deterministic');
  assert.equal(scopeIdForCategory(secret, 'mental health', 7), reference(secret, 'mental health', 7));
});

test('scope ids rotate with the epoch and differ per category and per patient', () => {
  const ids = new Set([
    scopeIdForCategory(secret, 'laboratory', 0),
    scopeIdForCategory(secret, 'laboratory', 1),
    scopeIdForCategory(secret, 'imaging', 0),
    scopeIdForCategory(new Uint8Array(randomBytes(32)), 'laboratory', 0),
    // Length-prefixing keeps ("ab", epoch) and ("a", …) from colliding through concatenation.
    scopeIdForCategory(secret, 'laboratory\u0000', 0),
  ]);
  assert.equal(ids.size, 5);
});

test('the category is NFC-normalised, so one spelling per category gives one id', () => {
  const composed = 'caf\u00e9';
  const decomposed = 'cafe\u0301';
  assert.equal(scopeIdForCategory(secret, composed, 0), scopeIdForCategory(secret, decomposed, 0));
});

test('bad inputs are rejected with InvalidArgumentError', () => {
  assert.throws(() => scopeIdForCategory(new Uint8Array(16), 'laboratory', 0), InvalidArgumentError);
  assert.throws(() => scopeIdForCategory(secret, '', 0), InvalidArgumentError);
  assert.throws(() => scopeIdForCategory(secret, 'x'.repeat(1025), 0), InvalidArgumentError);
  assert.throws(() => scopeIdForCategory(secret, 'laboratory', -1), InvalidArgumentError);
  assert.throws(() => scopeIdForCategory(secret, 'laboratory', 1.5), InvalidArgumentError);
  assert.throws(() => scopeIdForCategory(secret, 'laboratory', 2 ** 32), InvalidArgumentError);
  assert.equal(
    scopeIdForCategory(secret, 'laboratory', 2 ** 32 - 1),
    reference(secret, 'laboratory', 2 ** 32 - 1),
  );
});

test('scope keys are fresh 32-byte random keys', () => {
  const a = generateScopeKey();
  const b = generateScopeKey();
  assert.equal(a.length, SCOPE_KEY_LENGTH);
  assert.notDeepEqual(a, b);
});
