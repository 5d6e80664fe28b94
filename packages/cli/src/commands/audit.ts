/**
 * `medbloc audit list|verify`: who read (or tried to read) your records, when and why — and proof that the log is
 * complete and unaltered: every entry's signatures, its inclusion under a root anchored on chain, no gaps.
 */
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';

const PURPOSES = ['', 'care', 'research', 'emergency'];
const ZERO = `0x${'00'.repeat(32)}`;

export async function list(o: GlobalOptions) {
  const client = await clientFor(o);
  const log = await client.auditLog();
  print(o, log, () => {
    if (log.entries.length === 0) return 'No access to your records has been logged.';
    const lines = log.entries.map((e) => {
      const when = new Date(e.loggedAt * 1000).toISOString().replace('T', ' ').slice(0, 19);
      const what =
        e.request.record === ZERO ? 'listed your records' : `record ${e.request.record.slice(0, 18)}…`;
      const self = e.request.requester === log.owner ? ' (you)' : '';
      return `#${String(e.seq).padEnd(4)} ${when}  ${e.outcome.padEnd(7)}  ${PURPOSES[e.request.purpose] ?? '?'}  ${e.request.requester}${self}  ${what}${e.anchor ? '' : '  (not anchored yet)'}`;
    });
    return [...lines, `${log.entries.length} entr${log.entries.length === 1 ? 'y' : 'ies'}`].join('\n');
  });
}

export async function verify(o: GlobalOptions) {
  const client = await clientFor(o);
  const v = await client.verifyAudit();
  if (!v.ok) {
    if (o.json) print(o, v, '');
    const first = v.problems[0]!;
    throw new CliError(
      `the access log does not verify: ${v.problems.length} problem(s), first: ${first.seq !== null ? `entry #${first.seq}: ` : ''}${first.problem}`,
      'AUDIT_INVALID',
    );
  }
  print(
    o,
    v,
    `Access log verifies: ${v.verified} entr${v.verified === 1 ? 'y' : 'ies'} signed and anchored on chain${v.pending ? `, ${v.pending} awaiting anchoring` : ''}; no gaps.`,
  );
}
