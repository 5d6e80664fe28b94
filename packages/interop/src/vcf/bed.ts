/** BED regions (0-based, half-open) and the test of a VCF position (1-based) against them. */
import { normalizeChromosome } from './reference.ts';

export interface BedRange {
  chrom: string;
  /** 0-based start, inclusive. */
  start: number;
  /** 0-based end, exclusive. */
  end: number;
}

/**
 * Parse BED text (first three columns; `track`, `browser` and `#` lines skipped).
 * @example parseBed('chr1\t100\t200\n') // [{ chrom: 'chr1', start: 100, end: 200 }]
 */
export function parseBed(text: string): BedRange[] {
  const ranges: BedRange[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || /^(#|track|browser)/.test(line)) continue;
    const [chrom, start, end] = line.split(/\t|\s+/);
    if (chrom === undefined || start === undefined || end === undefined) continue;
    ranges.push({ chrom, start: Number(start), end: Number(end) });
  }
  return ranges;
}

/** Index of ranges by normalised chromosome, for the per-record test. */
export class RegionFilter {
  readonly #byChrom = new Map<string, BedRange[]>();

  constructor(ranges: readonly BedRange[]) {
    for (const r of ranges) {
      const key = normalizeChromosome(r.chrom);
      const list = this.#byChrom.get(key) ?? [];
      list.push(r);
      this.#byChrom.set(key, list);
    }
  }

  /** True when the 1-based position `pos` on `chrom` lies inside a range. */
  contains(chrom: string, pos: number): boolean {
    const list = this.#byChrom.get(normalizeChromosome(chrom));
    return !!list?.some((r) => pos - 1 >= r.start && pos - 1 < r.end);
  }
}
