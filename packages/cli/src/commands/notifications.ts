/** `medbloc notifications`: what a patient should hear about, newest first. */
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';

const SAY = {
  'break-glass': (n: { actor: string; outcome?: string }) =>
    `EMERGENCY ACCESS to your emergency profile by ${n.actor}${n.outcome === 'denied' ? ' (refused)' : ''}`,
  'record-added': (n: { actor: string }) => `new record added for you by ${n.actor}`,
  'new-accessor': (n: { actor: string }) => `${n.actor} read your data for the first time`,
} as const;

export async function notifications(o: GlobalOptions & { since?: string }) {
  let since: Date | undefined;
  if (o.since) {
    since = new Date(o.since);
    if (Number.isNaN(since.getTime()))
      throw new CliError(`--since must be a date, not "${o.since}"`, 'INVALID_DATE');
  }
  const client = await clientFor(o);
  const { notifications: list } = await client.notifications(since);
  print(o, list, () =>
    list.length === 0
      ? 'No notifications.'
      : list
          .map(
            (n) =>
              `${new Date(n.time * 1000).toISOString().replace('T', ' ').slice(0, 19)}  ${SAY[n.kind](n)}  (${n.subject})`,
          )
          .join('\n'),
  );
}
