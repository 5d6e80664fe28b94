/** Genome builds and the RefSeq accessions of their chromosomes (NCBI assembly reports, primary assembly). */

export type GenomeBuild = 'GRCh37' | 'GRCh38';

/** LOINC answers for "Human reference sequence assembly version" (62374-4). */
export const BUILD_CODES: Record<GenomeBuild, { code: string; display: string }> = {
  GRCh37: { code: 'LA14029-5', display: 'GRCh37' },
  GRCh38: { code: 'LA26806-2', display: 'GRCh38' },
};

// NC_0000NN versions for GRCh37; GRCh38 is one version later for every chromosome. MT is the same in both.
const GRCH37_VERSIONS = [
  10, 11, 11, 11, 9, 11, 13, 10, 11, 10, 9, 11, 10, 8, 9, 9, 10, 9, 9, 10, 8, 10, 10, 9,
];

/** `chr1`, `1` -> `1`; `chrM`, `M`, `MT` -> `MT`; `chrX` -> `X`. */
export function normalizeChromosome(chrom: string): string {
  const bare = chrom.replace(/^chr/i, '');
  if (/^(M|MT)$/i.test(bare)) return 'MT';
  return bare.toUpperCase() === 'X' || bare.toUpperCase() === 'Y' ? bare.toUpperCase() : bare;
}

/** The RefSeq accession of a chromosome in a build, or undefined for contigs outside the primary assembly. */
export function refSeqAccession(chrom: string, build: GenomeBuild): string | undefined {
  const c = normalizeChromosome(chrom);
  if (c === 'MT') return 'NC_012920.1';
  const index = c === 'X' ? 23 : c === 'Y' ? 24 : /^\d+$/.test(c) ? Number(c) : 0;
  const version = GRCH37_VERSIONS[index - 1];
  if (version === undefined) return undefined;
  return `NC_0000${String(index).padStart(2, '0')}.${build === 'GRCh37' ? version : version + 1}`;
}

/** Guess the build from `##reference=` / `##assembly=` / `##contig=<...assembly=...>` header lines. */
export function buildFromHeader(line: string): GenomeBuild | undefined {
  if (!/^##(reference|assembly|contig|source)/i.test(line)) return undefined;
  if (/GRCh38|hg38|b38/i.test(line)) return 'GRCh38';
  if (/GRCh37|hg19|b37|hs37|human_g1k_v37/i.test(line)) return 'GRCh37';
  return undefined;
}
