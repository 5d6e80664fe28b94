/** Small shared pieces: error and status messages, addresses, byte sizes, async actions. */
import { type ReactNode, useCallback, useEffect, useState } from 'react';
import { describeError, type FriendlyError } from '../lib/errors.ts';

export function ErrorBox({ error, id }: { error: FriendlyError | undefined; id?: string }) {
  if (!error) return null;
  return (
    <div className={`alert alert-error kind-${error.kind}`} role="alert" id={id} data-kind={error.kind}>
      <strong>{error.title}</strong>
      <p>{error.detail}</p>
      {error.code && <small className="code">code: {error.code}</small>}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'ok' | 'warn' }) {
  return (
    <div className={`alert alert-${tone}`} role="status">
      {children}
    </div>
  );
}

export function Addr({ value, label }: { value: string; label?: string }) {
  const short = `${value.slice(0, 6)}…${value.slice(-4)}`;
  return (
    <span className="addr" title={value}>
      {label && <span className="addr-label">{label} </span>}
      <code title={value}>{short}</code>
      <span className="sr-only">{value}</span>
    </span>
  );
}

/** Groups a recovery key's hex so a patient and a guardian can compare it aloud. */
export function keyCode(hex: string): string {
  return hex.replace(/^0x/, '').slice(0, 16).match(/.{4}/g)?.join(' ').toUpperCase() ?? '';
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/**
 * Loads `fetch()` when mounted and whenever `fetch` changes (pass a memoised one); `reload` fetches again. The error
 * is already made readable.
 */
export function useLoaded<T>(fetch: () => Promise<T>) {
  const [value, setValue] = useState<T | undefined>();
  const [error, setError] = useState<FriendlyError | undefined>();
  const reload = useCallback(async () => {
    try {
      setValue(await fetch());
      setError(undefined);
    } catch (err) {
      setError(describeError(err));
    }
  }, [fetch]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { value, error, reload };
}

/** Runs an async action with busy and error state; the error is already made readable. */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FriendlyError | undefined>();
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      setBusy(true);
      setError(undefined);
      try {
        return await fn(...args);
      } catch (err) {
        const described = describeError(err);
        // Expected refusals (a wrong passphrase, invalid input, not yet) are shown, not logged; the rest is logged too.
        if (!['input', 'passphrase', 'mnemonic', 'forbidden', 'waiting'].includes(described.kind))
          console.error(err);
        setError(described);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [fn],
  );
  return { run, busy, error, setError };
}
