/** For tests of durability ordering: the real WAL flush, each one held until the test releases it. */
import { fileFlusher } from './sqlite.ts';

export function heldFlush() {
  const flushes: { file: string; done: boolean }[] = [];
  let release = () => {};
  const flushers = new Map<string, ReturnType<typeof fileFlusher>>();
  return {
    /** Every flush started so far, and whether it finished. */
    flushes,
    /** Lets the flush now waiting go on. */
    release: () => release(),
    syncFile: async (file: string) => {
      const f = { file, done: false };
      flushes.push(f);
      await new Promise<void>((r) => {
        release = r;
      });
      if (!flushers.has(file)) flushers.set(file, fileFlusher(file));
      await flushers.get(file)!.flush();
      f.done = true;
    },
  };
}
