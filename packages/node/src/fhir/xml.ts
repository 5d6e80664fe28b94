/**
 * FHIR format negotiation for the gateway: which format a client asked for (`_format`, then `Accept`), and reading a
 * request body sent as FHIR XML. The conversion itself is packages/interop's converter, driven by the R4
 * StructureDefinitions; the gateway works on JSON and only the edges speak XML.
 */
import { fhirJsonToXml, fhirXmlToJson } from '@medbloc/interop';
import type { Resource } from '@medplum/fhirtypes';

export type FhirFormat = 'json' | 'xml';

const XML_MIME = ['application/fhir+xml', 'application/xml', 'text/xml'];
const JSON_MIME = ['application/fhir+json', 'application/json', 'text/json', 'application/json-patch+json'];
const FORMAT_ALIASES: Record<string, FhirFormat> = {
  xml: 'xml',
  json: 'json',
  ...Object.fromEntries(XML_MIME.map((m) => [m, 'xml' as const])),
  ...Object.fromEntries(JSON_MIME.map((m) => [m, 'json' as const])),
};

export const FHIR_XML = 'application/fhir+xml';

/**
 * The format to answer in: `_format` wins over `Accept` (as the FHIR spec says), JSON when neither names one.
 * Returns an error message for a format the gateway cannot write.
 *
 * @example
 * negotiateFormat('xml', undefined) // { format: 'xml' }
 * negotiateFormat(undefined, 'application/fhir+xml;q=0.9, application/fhir+json;q=0.8') // { format: 'xml' }
 */
export function negotiateFormat(
  formatParam: string | undefined,
  accept: string | undefined,
): { format: FhirFormat } | { error: string } {
  if (formatParam !== undefined && formatParam !== '') {
    const f = FORMAT_ALIASES[formatParam.split(';')[0]!.trim().toLowerCase()];
    return f
      ? { format: f }
      : {
          error: `_format "${formatParam}" is not served; use json or xml (application/fhir+json, application/fhir+xml)`,
        };
  }
  if (!accept) return { format: 'json' };
  const ranges = accept
    .split(',')
    .map((part, i) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? '1');
      return { type, q: Number.isFinite(q) ? q : 1, i };
    })
    .filter((r) => r.type && r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranges) {
    if (XML_MIME.includes(r.type)) return { format: 'xml' };
    if (JSON_MIME.includes(r.type) || r.type === '*/*' || r.type === 'application/*')
      return { format: 'json' };
    if (r.type === 'text/*') return { format: 'xml' };
  }
  return { error: `none of "${accept}" is served; accept application/fhir+json or application/fhir+xml` };
}

/** True for the content types the gateway reads as FHIR XML. */
export function isXmlContentType(contentType: string): boolean {
  return XML_MIME.includes(contentType.split(';')[0]!.trim().toLowerCase());
}

/** A FHIR XML request body as the JSON resource the gateway works on (throws FhirXmlError with line:column). */
export function readXmlBody(text: string): Resource {
  return fhirXmlToJson(text);
}

/** A resource as FHIR XML (throws FhirXmlError naming a property R4 does not define). */
export function writeXml(resource: Resource): string {
  return fhirJsonToXml(resource);
}
