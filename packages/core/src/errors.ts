/**
 * Typed errors of the MedBloc domain. Every failure a caller may want to handle has its own class with a stable
 * `code` (never reworded: the HTTP and FHIR edges map codes to statuses and OperationOutcomes), a one-line
 * `shortMessage` safe to show to users, optional `details` for logs, and the underlying `cause`.
 * Error messages never contain key material, passphrases or medical content.
 */

export interface MedblocErrorOptions {
  /** Extra technical detail for logs (never secrets). */
  details?: string;
  /** The lower-level error that caused this one. */
  cause?: unknown;
}

/**
 * Base of every MedBloc error.
 * @example
 * try { await decryptKeystore(json, pass) } catch (e) { if (isMedblocError(e) && e.code === 'WRONG_PASSPHRASE') … }
 */
export class MedblocError extends Error {
  static readonly code: string = 'MEDBLOC_ERROR';
  override name = 'MedblocError';
  readonly code: string;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(shortMessage: string, options: MedblocErrorOptions = {}) {
    super(
      options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = (new.target as typeof MedblocError).code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}

/** True for any MedBloc error; narrows to a specific class's code when `code` is given. */
export function isMedblocError(error: unknown, code?: string): error is MedblocError {
  return error instanceof MedblocError && (code === undefined || error.code === code);
}

/** A function was called with a value of the wrong shape or size (a programming error, not bad data). */
export class InvalidArgumentError extends MedblocError {
  static override readonly code = 'INVALID_ARGUMENT';
  override name = 'InvalidArgumentError';
}

/** The words are not a valid BIP-39 English mnemonic (unknown word, wrong count or bad checksum). */
export class InvalidMnemonicError extends MedblocError {
  static override readonly code = 'INVALID_MNEMONIC';
  override name = 'InvalidMnemonicError';
  constructor(options: MedblocErrorOptions = {}) {
    super('Invalid recovery phrase', options);
  }
}

/** The keystore did not decrypt with this passphrase (or it was tampered with: AES-GCM cannot tell the two apart). */
export class WrongPassphraseError extends MedblocError {
  static override readonly code = 'WRONG_PASSPHRASE';
  override name = 'WrongPassphraseError';
  constructor(options: MedblocErrorOptions = {}) {
    super('Wrong passphrase', options);
  }
}

/** The keystore JSON is malformed, of an unknown version, or uses unsupported parameters. */
export class InvalidKeystoreError extends MedblocError {
  static override readonly code = 'INVALID_KEYSTORE';
  override name = 'InvalidKeystoreError';
  constructor(options: MedblocErrorOptions = {}) {
    super('Invalid keystore', options);
  }
}

/**
 * A sealed record failed to open: bad header, wrong key, tampered, reordered, truncated or extended ciphertext.
 * Deliberately one error for all of these, so a caller cannot be used as an oracle.
 */
export class DecryptionFailedError extends MedblocError {
  static override readonly code = 'DECRYPTION_FAILED';
  override name = 'DecryptionFailedError';
  constructor(options: MedblocErrorOptions = {}) {
    super('Decryption failed', options);
  }
}

/** The data key does not match the key commitment anchored for the record. */
export class KeyCommitmentMismatchError extends MedblocError {
  static override readonly code = 'KEY_COMMITMENT_MISMATCH';
  override name = 'KeyCommitmentMismatchError';
  constructor(options: MedblocErrorOptions = {}) {
    super('Data key does not match the record key commitment', options);
  }
}

/** A key envelope did not open: wrong recipient key, wrong context (AAD) or tampered. */
export class EnvelopeOpenError extends MedblocError {
  static override readonly code = 'ENVELOPE_OPEN_FAILED';
  override name = 'EnvelopeOpenError';
  constructor(options: MedblocErrorOptions = {}) {
    super('Key envelope could not be opened', options);
  }
}

/** A serialised key envelope is malformed. */
export class InvalidEnvelopeError extends MedblocError {
  static override readonly code = 'INVALID_ENVELOPE';
  override name = 'InvalidEnvelopeError';
  constructor(options: MedblocErrorOptions = {}) {
    super('Malformed key envelope', options);
  }
}

/** A string is not a CID, or not the CIDv1 raw sha2-256 kind MedBloc anchors on chain. */
export class InvalidCidError extends MedblocError {
  static override readonly code = 'INVALID_CID';
  override name = 'InvalidCidError';
  constructor(options: MedblocErrorOptions = {}) {
    super('Invalid content identifier', options);
  }
}
