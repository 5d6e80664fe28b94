/** The certification part of the OpenAPI document: status, peer-review cases, relays, evidence, council, faucet. */
const problem = { $ref: '#/components/responses/Problem' };
const bearer = [{ session: [] }];
const json = (schema: Record<string, unknown>) => ({ content: { 'application/json': { schema } } });
const obj = (required: string[]) => ({
  type: 'object',
  required,
  properties: Object.fromEntries(required.map((k) => [k, { type: 'string' }])),
});
const signed = ['nonce', 'deadline', 'signature'];
const permit = {
  permit: {
    type: 'object',
    description: 'EIP-2612 permit of the MED bond, signed by the bond owner',
    properties: {
      deadline: { type: 'string' },
      v: { type: 'integer' },
      r: { type: 'string' },
      s: { type: 'string' },
    },
  },
};
const opened = json(obj(['applicationId', 'reviewers', 'status', 'commitEnd', 'revealEnd', 'txHash']));

export const certificationPaths = {
  '/v1/certification/status/{address}': {
    get: {
      summary:
        'Is the account a certified provider/researcher now (read from the registry on chain), by whom (authority, peer-review case, institution), since, until, revoked',
      responses: { 200: json(obj(['account', 'chainTime', 'roles'])), 400: problem },
    },
  },
  '/v1/certification/parameters': {
    get: {
      summary: "The authority council's certification parameters, members, threshold and the contracts",
      responses: { 200: json(obj(['parameters', 'threshold', 'authorities', 'contracts'])) },
    },
  },
  '/v1/certification/council/proposals': {
    get: {
      summary: "The council's proposals with current members' approvals",
      responses: { 200: { description: 'ok' } },
    },
  },
  '/v1/certification/nonces/{address}': {
    get: {
      summary: 'EIP-712 nonces on PeerReview, MPPoints and MED',
      responses: { 200: json(obj(['peerReview', 'mpPoints', 'medToken'])) },
    },
  },
  '/v1/certification/balances/{address}': {
    get: {
      summary: 'MED balance and MP points (free, staked, locked)',
      responses: { 200: json(obj(['account', 'med', 'mp'])) },
    },
  },
  '/v1/certification/applications': {
    get: {
      summary:
        'Peer-review cases, newest first (?status=pending|approved|rejected|no-quorum, ?candidate=, ?reviewer=)',
      responses: { 200: json(obj(['chainTime', 'applications'])), 400: problem },
    },
    post: {
      summary:
        "Relay a candidate's signed ApplyForCertification (with a MED permit); the sealed evidence must be uploaded first (its digest is the evidence pointer); the panel is drawn at once",
      security: bearer,
      requestBody: json({
        ...obj([
          'candidate',
          'role',
          'credentialHash',
          'evidencePointer',
          'bond',
          'evidenceEnvelope',
          ...signed,
        ]),
        properties: { ...obj([]).properties, ...permit },
      }),
      responses: { 201: opened, 400: problem, 402: problem, 403: problem, 404: problem, 409: problem },
    },
  },
  '/v1/certification/challenges': {
    post: {
      summary:
        "Relay a certified provider's signed ChallengeCertification (with a MED permit) of a certification",
      security: bearer,
      requestBody: json(
        obj(['challenger', 'subject', 'role', 'evidenceHash', 'bond', 'evidenceEnvelope', ...signed]),
      ),
      responses: { 201: opened, 400: problem, 402: problem, 403: problem, 409: problem },
    },
  },
  '/v1/certification/applications/{id}': {
    get: {
      summary:
        "One case with each drawn reviewer's phase (drawn, committed, revealed); a vote only once revealed",
      responses: { 200: { description: 'ok' }, 400: problem, 404: problem },
    },
  },
  '/v1/certification/applications/{id}/appeal': {
    post: {
      summary: "Relay the loser's signed AppealDecision (with a MED permit); a fresh panel is drawn",
      security: bearer,
      requestBody: json(obj(['appellant', 'bond', ...signed])),
      responses: { 201: opened, 400: problem, 409: problem },
    },
  },
  '/v1/certification/applications/{id}/draw': {
    post: {
      summary: 'Draw the panel if not drawn yet (anyone)',
      responses: { 200: { description: 'ok' }, 409: problem },
    },
  },
  '/v1/certification/applications/{id}/evidence': {
    get: {
      summary:
        "The caller's evidence key envelope: the candidate and the drawn reviewers only (403 NOT_REVIEWER otherwise)",
      security: bearer,
      responses: {
        200: json(obj(['applicationId', 'evidence', 'cid', 'envelope'])),
        403: problem,
        404: problem,
      },
    },
    post: {
      summary: 'The candidate posts the evidence key wrapped (HPKE) for each drawn reviewer',
      security: bearer,
      requestBody: json(obj(['envelopes'])),
      responses: { 201: { description: 'shared' }, 403: problem },
    },
  },
  '/v1/certification/applications/{id}/evidence/content': {
    get: {
      summary: 'The sealed evidence (ciphertext): the candidate and the drawn reviewers only',
      security: bearer,
      responses: { 200: { description: 'application/octet-stream' }, 403: problem },
    },
  },
  '/v1/certification/applications/{id}/commit': {
    post: {
      summary: "Relay a drawn reviewer's signed CommitVote (sealed ballot)",
      requestBody: json(obj(['reviewer', 'commitment', ...signed])),
      responses: { 200: { description: 'committed' }, 400: problem, 403: problem, 409: problem },
    },
  },
  '/v1/certification/applications/{id}/reveal': {
    post: {
      summary: 'Relay a reveal (the commitment binds the reviewer: only the salt holder can reveal)',
      requestBody: json(obj(['reviewer', 'approve', 'salt'])),
      responses: { 200: { description: 'revealed' }, 400: problem, 409: problem },
    },
  },
  '/v1/certification/applications/{id}/finalize': {
    post: {
      summary: 'After the reveal window (anyone): tally, settle, apply the decision',
      responses: { 200: { description: 'ok' }, 409: problem },
    },
  },
  '/v1/certification/stake': {
    post: {
      summary: "Relay a holder's signed Stake of MP points",
      requestBody: json(obj(['holder', 'amount', ...signed])),
      responses: { 200: { description: 'staked' }, 400: problem, 409: problem },
    },
  },
  '/v1/dev/faucet': {
    post: {
      summary:
        'Embedded development chain only: 1 ETH for gas and `med` MED from the operator (404 DEV_ONLY elsewhere)',
      requestBody: json(obj(['account'])),
      responses: { 200: { description: 'balances' }, 404: problem },
    },
  },
} as const;
