/**
 * Stands in for Node's `crypto` in the browser bundle: libraries that fall back to `import("crypto")` when
 * globalThis.crypto is missing get the browser's WebCrypto (always present in the browsers we support).
 */
export const webcrypto = globalThis.crypto;
export default { webcrypto };
