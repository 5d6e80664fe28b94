/**
 * Build time: the FHIR R4 definitions the in-browser validator needs, small enough to ship — core's compact
 * definitions (StructureDefinitions without their documentation, and each value set a required binding names as an
 * explicit code list; packages/core/src/fhir/compact.ts). Served as a virtual module that only the lazily loaded
 * validator chunk imports.
 */
import type { Plugin } from 'vite';
import { compactDefinitions } from '../../../packages/core/src/fhir/compact.ts';

const ID = 'virtual:medbloc-fhir-definitions';

/** Vite plugin: `import definitions from 'virtual:medbloc-fhir-definitions'`. */
export function fhirDefinitions(): Plugin {
  return {
    name: 'medbloc-fhir-definitions',
    resolveId: (id) => (id === ID ? `\0${ID}` : undefined),
    load(id) {
      if (id !== `\0${ID}`) return undefined;
      // JSON.parse of a string literal loads faster than the same data as an object literal.
      return `export default JSON.parse(${JSON.stringify(JSON.stringify(compactDefinitions()))});`;
    },
  };
}
