/** The OpenAPI 3.1 description of the node's HTTP API, served at /openapi.json. */
import { certificationPaths } from './certification-openapi.ts';

const problem = { $ref: '#/components/responses/Problem' };
const bearer = [{ session: [] }];
const json = (schema: Record<string, unknown>) => ({ content: { 'application/json': { schema } } });
const obj = (required: string[], extra: Record<string, unknown> = {}) => ({
  type: 'object',
  required,
  properties: Object.fromEntries(required.map((k) => [k, { type: 'string' }])),
  ...extra,
});
const signed = ['nonce', 'deadline', 'signature'];

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'MedBloc node API',
    version: '1.0.0',
    description:
      "Patient-controlled medical records: clients seal records locally and upload ciphertext; the node stores it, relays EIP-712 signed anchors to the chain (users pay no gas) and serves ciphertext with the caller's key envelope. Errors are RFC 9457 problems with a stable `code`.",
  },
  components: {
    securitySchemes: {
      session: { type: 'http', scheme: 'bearer', description: 'token from POST /v1/auth/login (SIWE)' },
    },
    responses: {
      Problem: {
        description: 'error',
        content: {
          'application/problem+json': {
            schema: obj(['type', 'title', 'status', 'code', 'detail'], {
              properties: { status: { type: 'integer' } },
            }),
          },
        },
      },
    },
  },
  paths: {
    ...certificationPaths,
    '/health': {
      get: {
        summary: 'Chain id, block height, contract addresses',
        responses: { 200: { description: 'ok' } },
      },
    },
    '/v1/auth/nonce': {
      post: { summary: 'A single-use SIWE nonce', responses: { 200: json(obj(['nonce'])) } },
    },
    '/v1/auth/login': {
      post: {
        summary: 'Exchange a signed SIWE (EIP-4361) message for a session token',
        requestBody: json(obj(['message', 'signature'])),
        responses: { 200: json(obj(['token', 'address', 'expiresAt'])), 400: problem, 401: problem },
      },
    },
    '/v1/accounts': {
      post: {
        summary: 'Relay a signed self-registration (EIP-712 Register)',
        requestBody: json(obj(['account', 'encryptionKey', 'roles', ...signed])),
        responses: { 201: { description: 'registered' }, 400: problem, 409: problem },
      },
    },
    '/v1/accounts/{address}': {
      get: {
        summary: 'Registration, roles and certifications, read from the chain',
        responses: { 200: { description: 'ok' }, 404: problem },
      },
    },
    '/v1/accounts/{address}/nonces': {
      get: {
        summary:
          "Next EIP-712 nonces per contract (records: past this account's anchors still on their way through this node)",
        responses: { 200: json(obj(['accounts', 'records'])) },
      },
    },
    '/v1/accounts/{address}/usage': {
      get: { security: bearer, summary: 'Storage used and quota', responses: { 200: { description: 'ok' } } },
    },
    '/v1/certifications': {
      post: {
        summary: 'Relay an authority-signed certification (EIP-712 Certify)',
        requestBody: json(obj(['account', 'role', 'credentialHash', 'expiresAt', 'authority', ...signed])),
        responses: { 201: { description: 'certified' }, 403: problem },
      },
    },
    '/v1/certifications/revoke': {
      post: {
        summary: 'Relay an authority-signed revocation',
        requestBody: json(obj(['account', 'role', 'authority', ...signed])),
        responses: { 200: { description: 'revoked' }, 403: problem },
      },
    },
    '/v1/blobs': {
      post: {
        security: bearer,
        summary: 'Upload ciphertext (streamed; size-limited; counted against the quota)',
        requestBody: {
          content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
        },
        responses: { 201: json(obj(['cid', 'size'])), 413: problem, 507: problem },
      },
    },
    '/v1/records': {
      get: {
        security: bearer,
        summary: "List the caller's records (paged with `after`, `limit`)",
        responses: { 200: { description: 'ok' } },
      },
      post: {
        security: bearer,
        summary:
          "Anchor one record (EIP-712 AnchorRecord signed by the creator) with the owner's key envelope",
        requestBody: json(
          obj(['owner', 'creator', 'digest', 'keyCommitment', 'supersedes', 'envelope', ...signed]),
        ),
        responses: { 201: { description: 'anchored' }, 400: problem, 403: problem, 409: problem },
      },
    },
    '/v1/records/batch': {
      post: {
        security: bearer,
        summary: 'Anchor many records under one Merkle root (EIP-712 AnchorBatch); one transaction',
        requestBody: json(obj(['creator', 'root', 'manifest', 'records', ...signed])),
        responses: { 201: { description: 'anchored' }, 400: problem, 403: problem },
      },
    },
    '/v1/records/{id}': {
      get: {
        security: bearer,
        summary: "Anchor, authorisation proof and the caller's key envelope",
        responses: { 200: { description: 'ok' }, 403: problem, 404: problem },
      },
    },
    '/v1/records/{id}/content': {
      get: {
        security: bearer,
        summary: 'The ciphertext, verified against its digest',
        responses: { 200: { description: 'ciphertext' }, 403: problem, 404: problem },
      },
    },
    '/v1/records/{id}/open': {
      get: {
        security: bearer,
        summary:
          "One-round-trip read: the record and the caller's key envelopes (base64url JSON in x-medbloc-record) with the ciphertext as the body; logged once",
        responses: { 200: { description: 'ciphertext' }, 403: problem, 404: problem },
      },
    },
    '/v1/records/{id}/scopes': {
      post: {
        security: bearer,
        summary:
          "File a record under the owner's scope keys (its data key wrapped to each), so category grants cover it",
        responses: { 200: { description: 'filed' }, 403: problem },
      },
    },
    '/v1/scopes': {
      post: {
        security: bearer,
        summary:
          "Publish a patient's signed scope public keys (per category and epoch); writers wrap new records to them",
        responses: { 201: { description: 'published' }, 400: problem },
      },
    },
    '/v1/scopes/{owner}': {
      get: {
        security: bearer,
        summary: "A patient's current signed scope keys",
        responses: { 200: { description: 'ok' } },
      },
    },
    '/v1/grants': {
      post: {
        security: bearer,
        summary:
          'Relay a consent grant (EIP-712 GrantConsent: record or category scope, purpose, expiry) with the key material for the grantee',
        responses: { 201: { description: 'granted' }, 400: problem, 403: problem },
      },
      get: {
        security: bearer,
        summary: 'Grants given by a patient (?owner=) or received (?grantee=)',
        responses: { 200: { description: 'ok' } },
      },
    },
    '/v1/grants/revoke': {
      post: {
        security: bearer,
        summary: 'Relay a revocation (EIP-712 RevokeConsent); a category moves to a new key epoch',
        responses: { 200: { description: 'revoked' }, 400: problem },
      },
    },
    '/v1/audit': {
      get: {
        security: bearer,
        summary:
          "The owner's access log: every read and refusal, signed by requester and node, with Merkle proofs to roots anchored on AccessLog",
        responses: { 200: { description: 'ok' }, 403: problem },
      },
    },
    '/v1/notifications': {
      get: {
        security: bearer,
        summary:
          'Break-glass openings, records others added for you, first reads by new parties (?since=unix seconds)',
        responses: { 200: { description: 'ok' } },
      },
    },
    '/v1/emergency/holders': {
      get: {
        summary: 'The emergency key holders (X25519 keys) and the k-of-n threshold',
        responses: { 200: { description: 'ok' } },
      },
    },
    '/v1/emergency/profile': {
      post: {
        security: bearer,
        summary: 'Store the sealed emergency profile and its key shares, each wrapped to one holder',
        responses: { 201: { description: 'stored' }, 400: problem },
      },
    },
    '/v1/emergency/profile/{patient}': {
      get: {
        security: bearer,
        summary: 'The sealed emergency profile (the patient only)',
        responses: { 200: { description: 'ok' }, 403: problem },
      },
    },
    '/v1/emergency/requests': {
      post: {
        security: bearer,
        summary: "Relay a certified provider's break-glass request (EIP-712 BreakGlass) to the chain",
        responses: { 201: { description: 'recorded' }, 403: problem },
      },
    },
    '/v1/emergency/requests/{id}/open': {
      post: {
        security: bearer,
        summary:
          'Holders release their shares, re-wrapped to the provider, for a request recorded on chain; logged',
        responses: { 200: { description: 'opened' }, 403: problem, 404: problem },
      },
    },
    '/v1/delegates': {
      post: {
        security: bearer,
        summary:
          "Relay a patient's signed appointment of a guardian or carer (EIP-712 AppointDelegate), with the patient's scope secret wrapped for the delegate",
        requestBody: json(obj(['patient', 'delegate', 'kind', 'expiresAt', 'keyEnvelope', ...signed])),
        responses: { 201: { description: 'appointed' }, 400: problem, 403: problem, 409: problem },
      },
      get: {
        security: bearer,
        summary:
          "A patient's delegates (?patient=, for the patient or its delegates) or the patients a delegate acts for (?delegate=)",
        responses: { 200: { description: 'ok' }, 403: problem },
      },
    },
    '/v1/delegates/revoke': {
      post: {
        security: bearer,
        summary:
          'Relay a signed revocation (EIP-712 RevokeDelegate) by the patient, or a guardian of a minor',
        requestBody: json(obj(['patient', 'delegate', 'signer', ...signed])),
        responses: { 200: { description: 'revoked' }, 400: problem, 403: problem },
      },
    },
    '/v1/delegates/minor': {
      post: {
        security: bearer,
        summary: 'Relay a patient’s signed minor flag (EIP-712 SetMinor)',
        requestBody: json(obj(['patient', 'minor', ...signed])),
        responses: { 200: { description: 'set' }, 400: problem, 403: problem },
      },
    },
    '/v1/delegates/key': {
      post: {
        security: bearer,
        summary:
          'The patient replaces the key material it left for a current delegate (after rotating its scopes)',
        requestBody: json(obj(['patient', 'delegate', 'keyEnvelope'])),
        responses: { 201: { description: 'stored' }, 403: problem },
      },
      get: {
        security: bearer,
        summary: "To a current delegate only: the patient's key material wrapped for it (?patient=)",
        responses: { 200: json(obj(['patient', 'delegate', 'keyEnvelope'])), 403: problem },
      },
    },
    '/v1/recovery': {
      post: {
        security: bearer,
        summary:
          'Relay the commitment to recovery guardians (EIP-712 SetRecoveryGuardians) and keep their sealed shares',
        requestBody: json(obj(['patient', 'guardiansHash', 'threshold', 'salt', 'shares', ...signed])),
        responses: { 201: { description: 'set' }, 400: problem, 403: problem },
      },
    },
    '/v1/recovery/{patient}': {
      get: {
        summary: 'The recovery threshold and number of guardians (not who they are)',
        responses: { 200: json(obj(['patient', 'threshold', 'guardians'])), 404: problem },
      },
    },
    '/v1/recovery/{patient}/guardians': {
      get: {
        security: bearer,
        summary: "The patient's recovery guardians (the patient only)",
        responses: { 200: { description: 'ok' }, 403: problem },
      },
    },
    '/v1/recovery/{patient}/requests': {
      post: {
        summary:
          "A new device asks the patient's guardians to release their shares to a one-time recovery key",
        requestBody: json(obj(['recoveryKey'])),
        responses: { 201: { description: 'requested' }, 404: problem },
      },
    },
    '/v1/recovery/{patient}/share': {
      get: {
        security: bearer,
        summary: 'To a guardian: its sealed share and the recovery keys asked for',
        responses: { 200: { description: 'ok' }, 403: problem },
      },
    },
    '/v1/recovery/{patient}/releases': {
      post: {
        security: bearer,
        summary: 'A guardian releases its share, re-sealed to a requested recovery key',
        requestBody: json(obj(['recoveryKey', 'envelope'])),
        responses: { 201: { description: 'released' }, 403: problem, 404: problem },
      },
      get: {
        summary: 'The releases sealed to a recovery key (?key=)',
        responses: { 200: { description: 'ok' }, 404: problem },
      },
    },
    // The FHIR R4 API (MEDBLOC_FHIR_KEYSTORE) is described by its own CapabilityStatement at /fhir/metadata; these
    // are the parts that are not plain FHIR REST: Bulk Data export and SMART App Launch.
    '/fhir/metadata': {
      get: {
        summary:
          'The FHIR CapabilityStatement (JSON, or XML with _format=xml / Accept: application/fhir+xml)',
        responses: { 200: { description: 'CapabilityStatement' } },
      },
    },
    '/fhir/$convert': {
      post: {
        summary:
          'Convert an HL7 v2 message (x-application/hl7-v2+er7), a C-CDA document (application/cda+xml) or a VCF file (text/vcf, ?patient=Patient/{id}) into a validated FHIR transaction Bundle; stores nothing',
        responses: {
          200: { description: 'transaction Bundle' },
          400: { description: 'OperationOutcome: the converter refused the document' },
          415: { description: 'OperationOutcome: not a format $convert reads' },
          422: { description: 'OperationOutcome: a converted resource is not valid R4' },
        },
      },
    },
    '/fhir/$export': {
      get: {
        summary:
          'Bulk Data export kick-off (also /fhir/Patient/$export, /fhir/Patient/{id}/$export); needs Prefer: respond-async; _type, _since',
        responses: {
          202: { description: 'accepted; Content-Location is the status URL' },
          400: { description: 'OperationOutcome' },
          403: { description: 'OperationOutcome: a type the access token does not allow' },
        },
      },
    },
    '/fhir/$export-status/{job}': {
      get: {
        summary: 'Export status: 202 with X-Progress while running, then 200 with the manifest',
        responses: {
          200: { description: 'manifest' },
          202: { description: 'in progress' },
          404: { description: 'OperationOutcome' },
        },
      },
      delete: {
        summary: 'Cancels the export and drops its files',
        responses: { 202: { description: 'cancelled' }, 404: { description: 'OperationOutcome' } },
      },
    },
    '/fhir/$export-file/{job}/{type}.ndjson': {
      get: {
        summary:
          'One exported resource type as NDJSON (application/fhir+ndjson), generated while it downloads',
        responses: { 200: { description: 'NDJSON' }, 404: { description: 'OperationOutcome' } },
      },
    },
    '/fhir/.well-known/smart-configuration': {
      get: {
        summary: 'SMART App Launch discovery: endpoints, scopes, capabilities, PKCE S256',
        responses: { 200: { description: 'ok' } },
      },
    },
    '/fhir/auth/authorize': {
      get: {
        summary:
          'OAuth 2 authorization request (response_type=code, client_id = app account address, redirect_uri, scope, aud, code_challenge, code_challenge_method=S256): the approval page',
        responses: {
          200: { description: 'HTML approval page' },
          302: { description: 'error back to redirect_uri' },
        },
      },
      post: {
        summary:
          "The patient's decision (request, decision=allow|deny, passphrase): allow signs an on-chain care grant to the app",
        responses: {
          302: { description: 'code (or error) back to redirect_uri' },
          401: { description: 'wrong passphrase' },
        },
      },
    },
    '/fhir/auth/token': {
      post: {
        summary:
          'Exchanges code + code_verifier (form-encoded) for a short-lived bearer token bound to the scopes',
        responses: {
          200: { description: 'access_token, token_type, expires_in, scope, patient' },
          400: { description: 'OAuth error JSON' },
        },
      },
    },
  },
} as const;
