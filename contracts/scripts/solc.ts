/**
 * Offline compilation of the .sol files under contracts/src (subfolders included) with solc-js (standard JSON) and
 * rendering of the typed artifacts module. Shared by the build script (which writes it) and the drift test.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const require = createRequire(import.meta.url);

export const CONTRACTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SOURCE_DIR = path.join(CONTRACTS_DIR, 'src');
export const ARTIFACTS_FILE = path.join(SOURCE_DIR, 'generated', 'artifacts.ts');

/** Settings are part of the artifacts' identity: change them and the drift test asks for a rebuild. */
export const COMPILER_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  // Cancun rather than solc's default (Prague): runs on anvil and on the permissioned and L2 chains we target.
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.bytecode.linkReferences'] } },
} as const;

/**
 * Contracts from dependencies that are deployed as they are, compiled with ours so their artifacts sit beside ours:
 * Semaphore's Groth16 verifier and the Poseidon library its Merkle trees hash with (a library with a public function,
 * so contracts using it carry link references and are linked at deployment, see `linkBytecode`).
 */
export const DEPENDENCY_UNITS = [
  '@semaphore-protocol/contracts/base/SemaphoreVerifier.sol',
  'poseidon-solidity/PoseidonT3.sol',
] as const;

/** Where library placeholders sit in a contract's bytecode: source unit → library name → byte ranges. */
export type LinkReferences = Record<string, Record<string, { start: number; length: number }[]>>;

export interface CompiledContract {
  name: string;
  abi: unknown[];
  bytecode: `0x${string}`;
  /** Present when the bytecode still has library placeholders to link. */
  linkReferences?: LinkReferences;
}

export interface Compilation {
  contracts: CompiledContract[];
  /** sha-256 over the compiler version, settings and every source unit (ours and imported), in name order. */
  sourceHash: `0x${string}`;
  compilerVersion: string;
  /** Compiler warnings, formatted (compilation succeeds with warnings). */
  warnings: string[];
}

interface SolcOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  sources?: Record<string, unknown>;
  contracts?: Record<
    string,
    Record<string, { abi: unknown[]; evm: { bytecode: { object: string; linkReferences?: LinkReferences } } }>
  >;
}

export class ContractCompilationError extends Error {
  static readonly code = 'CONTRACT_COMPILATION_FAILED';
  override name = 'ContractCompilationError';
}

/** Solidity packages imported by our sources (or by each other), resolved from node_modules. */
const PACKAGES = [
  '@openzeppelin/contracts',
  '@semaphore-protocol/contracts',
  '@zk-kit/lean-imt.sol',
  'poseidon-solidity',
] as const;
const PACKAGE_DIRS = new Map<string, string>(
  PACKAGES.map((p) => [`${p}/`, path.dirname(require.resolve(`${p}/package.json`))]),
);

/** Resolves `<package>/...` from node_modules and `src/...` from our sources. */
function readImport(unit: string): string {
  for (const [prefix, dir] of PACKAGE_DIRS) {
    if (unit.startsWith(prefix)) return readFileSync(path.join(dir, unit.slice(prefix.length)), 'utf8');
  }
  if (unit.startsWith('src/')) return readFileSync(path.join(CONTRACTS_DIR, unit), 'utf8');
  throw new ContractCompilationError(`cannot resolve import "${unit}"`);
}

/** Compiles every .sol file under contracts/src; throws ContractCompilationError on any compiler error. */
export function compileContracts(): Compilation {
  // Subfolders too (certification/, consent/, ...): unit names are paths under src/, sorted.
  const files = readdirSync(SOURCE_DIR, { recursive: true, encoding: 'utf8' })
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => f.endsWith('.sol'))
    .sort();
  if (files.length === 0) throw new ContractCompilationError(`no .sol files in ${SOURCE_DIR}`);
  const sources = Object.fromEntries([
    ...files.map((f) => [`src/${f}`, { content: readFileSync(path.join(SOURCE_DIR, f), 'utf8') }] as const),
    ...DEPENDENCY_UNITS.map((unit) => [unit, { content: readImport(unit) }] as const),
  ]);
  const input = { language: 'Solidity', sources, settings: COMPILER_SETTINGS };
  const loaded = new Map<string, string>(Object.entries(sources).map(([unit, s]) => [unit, s.content]));
  const findImports = (unit: string) => {
    try {
      const contents = readImport(unit);
      loaded.set(unit, contents);
      return { contents };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new ContractCompilationError(
      `solc reported ${errors.length} error(s):\n${errors.map((e) => e.formattedMessage).join('\n')}`,
    );
  }

  const contracts: CompiledContract[] = [];
  for (const unit of [...files.map((f) => `src/${f}`), ...DEPENDENCY_UNITS]) {
    for (const [name, c] of Object.entries(output.contracts?.[unit] ?? {})) {
      if (!c.evm.bytecode.object) continue; // abstract contracts and interfaces
      const linkReferences = c.evm.bytecode.linkReferences ?? {};
      contracts.push({
        name,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        ...(Object.keys(linkReferences).length > 0 ? { linkReferences } : {}),
      });
    }
  }

  const hash = createHash('sha256');
  const compilerVersion = solc.version();
  hash.update(`${compilerVersion}\n${JSON.stringify(COMPILER_SETTINGS)}\n`);
  for (const unit of [...loaded.keys()].sort()) hash.update(`${unit}\n${loaded.get(unit)}\n`);
  const warnings = (output.errors ?? [])
    .filter((e) => e.severity === 'warning')
    .map((e) => e.formattedMessage);
  return { contracts, sourceHash: `0x${hash.digest('hex')}`, compilerVersion, warnings };
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** The TypeScript module written to contracts/src/generated/artifacts.ts. */
export function renderArtifacts(c: Compilation): string {
  const lines = [
    '// Generated by `npm run build:contracts` (contracts/scripts/compile.ts). Do not edit.',
    `// solc ${c.compilerVersion}, ${JSON.stringify({ optimizer: COMPILER_SETTINGS.optimizer, evmVersion: COMPILER_SETTINGS.evmVersion })}`,
    '',
    `export const contractsSourceHash = '${c.sourceHash}' as const;`,
    `export const solcVersion = '${c.compilerVersion}' as const;`,
  ];
  for (const contract of c.contracts) {
    const id = lowerFirst(contract.name);
    lines.push(
      '',
      `export const ${id}Abi = ${JSON.stringify(contract.abi, null, 2)} as const;`,
      '',
      `export const ${id}Bytecode = '${contract.bytecode}' as const;`,
    );
    if (contract.linkReferences) {
      lines.push(
        '',
        `export const ${id}LinkReferences = ${JSON.stringify(contract.linkReferences, null, 2)} as const;`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
