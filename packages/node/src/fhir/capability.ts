/** The CapabilityStatement the gateway serves at `metadata`: exactly the interactions and parameters it supports. */
import { getResourceTypes, getSearchParameters } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';

const TYPE_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
] as const;

const COMMON_PARAMS = ['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source'];

let cached: CapabilityStatement | undefined;

/**
 * Builds (once) the statement for every R4 resource type; `baseUrl` is the gateway's `/fhir` URL.
 *
 * @example
 * const cs = capabilityStatement('http://127.0.0.1:7400/fhir');
 */
export function capabilityStatement(baseUrl: string, o: { smart?: boolean } = {}): CapabilityStatement {
  cached ??= build();
  const statement = { ...cached, implementation: { description: 'MedBloc FHIR R4 gateway', url: baseUrl } };
  if (!o.smart) return statement;
  const [rest, ...others] = statement.rest ?? [];
  return { ...statement, rest: [{ ...rest, mode: 'server', security: smartSecurity(baseUrl) }, ...others] };
}

/** The SMART App Launch security block: the OAuth endpoints also published at .well-known/smart-configuration. */
function smartSecurity(
  baseUrl: string,
): NonNullable<NonNullable<CapabilityStatement['rest']>[number]['security']> {
  return {
    cors: false,
    service: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
            code: 'SMART-on-FHIR',
          },
        ],
      },
    ],
    description:
      'SMART App Launch (standalone, public clients, authorization code + PKCE S256). client_id is the app’s ' +
      'MedBloc account; approval is an on-chain care grant to it. Without a token, the gateway acts for its ' +
      'identity (its own process).',
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'authorize', valueUri: `${baseUrl}/auth/authorize` },
          { url: 'token', valueUri: `${baseUrl}/auth/token` },
        ],
      },
    ],
  };
}

/** Consent and AuditEvent are read-only views of the identity's grants and access log (consent-views.ts). */
function viewResource(type: 'Consent' | 'AuditEvent'): CapabilityStatementRestResource {
  return {
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    documentation:
      type === 'Consent'
        ? 'Read-only: the consent grants this identity made or received, live from the chain.'
        : "Read-only: this identity's access log, each entry a receipt countersigned by the node and anchored on chain.",
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    versioning: 'no-version',
    readHistory: false,
    updateCreate: false,
    searchParam: [
      { name: 'patient', type: 'reference' },
      { name: 'date', type: 'date' },
    ],
  };
}

function build(): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = getResourceTypes()
    .filter((t) => t !== 'Binary' && t !== 'Parameters')
    .sort()
    .map((type) => {
      if (type === 'Consent' || type === 'AuditEvent') return viewResource(type);
      const params = getSearchParameters(type) ?? {};
      return {
        type,
        profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
        interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
        versioning: 'versioned-update',
        readHistory: true,
        updateCreate: true,
        conditionalCreate: true,
        conditionalUpdate: true,
        conditionalDelete: 'single',
        referencePolicy: ['literal', 'logical', 'local'],
        searchInclude: ['*'],
        searchRevInclude: ['*'],
        searchParam: Object.entries(params)
          .filter(([code]) => !COMMON_PARAMS.includes(code))
          .map(([code, sp]) => ({
            name: code,
            type: sp.type,
            ...(sp.url ? { definition: sp.url } : {}),
          })),
        ...(type === 'Patient'
          ? {
              operation: [
                {
                  name: 'everything',
                  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
                },
                {
                  name: 'export',
                  definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
                },
              ],
            }
          : {}),
      } as CapabilityStatementRestResource;
    });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'MedBloc',
    kind: 'instance',
    software: { name: 'MedBloc FHIR gateway', version: '0.1.0' },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json', 'application/json', 'xml', 'application/fhir+xml'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Acts for one identity: writes are validated, sealed for the owner and anchored on chain; reads serve what ' +
          'this identity can decrypt. Every anchored version has a Provenance naming its creator, record and ' +
          'transaction. JSON or XML (_format, Accept, Content-Type). Not supported: system history, _summary/_elements ' +
          'projections beyond Medplum.',
        security: { cors: false, description: 'The gateway runs in the identity’s own process.' },
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
        operation: [
          { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' },
          {
            name: 'convert',
            definition: 'http://hl7.org/fhir/OperationDefinition/Resource-convert',
            documentation:
              'POST an HL7 v2 message (x-application/hl7-v2+er7), a C-CDA document (application/cda+xml) or a VCF ' +
              'file (text/vcf, ?patient=Patient/<id>); the answer is a validated transaction Bundle to post back ' +
              'to store it. Nothing is stored by the conversion.',
          },
        ],
        searchParam: COMMON_PARAMS.map((name) => ({
          name,
          type:
            name === '_lastUpdated'
              ? 'date'
              : name === '_id'
                ? 'token'
                : name === '_source'
                  ? 'uri'
                  : 'token',
        })) as NonNullable<NonNullable<CapabilityStatement['rest']>[number]['searchParam']>,
      },
    ],
  };
}
