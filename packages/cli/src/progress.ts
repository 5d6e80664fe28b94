/** Progress bars on stderr for long operations, shown only to a person at a terminal (scripts get clean output). */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number | undefined, unit: 'bytes' | 'items'): Progress {
  if (!process.stderr.isTTY || process.env.CI) return { update() {}, stop() {} };
  const fmt = (v: number) => (unit === 'bytes' ? `${(v / 1048576).toFixed(1)} MiB` : String(v));
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: total ? `${label} [{bar}] {percentage}% {done}/{all}` : `${label} {done}`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 0, 0, { done: fmt(0), all: fmt(total ?? 0) });
  return {
    update: (v) => bar.update(v, { done: fmt(v), all: fmt(total ?? v) }),
    stop: () => bar.stop(),
  };
}
