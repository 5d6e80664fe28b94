/**
 * Records by date, newest first, grouped by day, with a category filter. A record that was corrected shows as its
 * latest version, with the earlier ones (its supersedes chain) as its history.
 */
import { useMemo, useState } from 'react';
import { categoryOf, dateOf, type RecordItem, versionsOf } from '../lib/records.ts';
import { RecordCard } from './RecordCard.tsx';

const PAGE = 50;
/** The day headings' format, made once (toLocaleDateString would make one per record and render). */
const DAY = new Intl.DateTimeFormat(undefined, { dateStyle: 'full' });

export function Timeline({
  items: all,
  me,
  editable,
  onChanged,
}: {
  items: RecordItem[];
  me?: string;
  /** Offer "Correct this record" (a new version) on verified FHIR records. */
  editable?: boolean;
  onChanged?: () => void;
}) {
  const [category, setCategory] = useState('All');
  const [shown, setShown] = useState(PAGE);
  const { latest: items, history } = useMemo(() => versionsOf(all), [all]);
  const counts = useMemo(() => {
    const m = new Map<string, number>();
    for (const i of items) m.set(categoryOf(i), (m.get(categoryOf(i)) ?? 0) + 1);
    return [...m.entries()].sort();
  }, [items]);
  // Each record's date is worked out once per render, not at every comparison of the sort.
  const sorted = useMemo(
    () =>
      items
        .filter((i) => category === 'All' || categoryOf(i) === category)
        .map((i) => ({ i, t: dateOf(i) }))
        .sort((a, b) => b.t - a.t),
    [items, category],
  );
  const days = new Map<string, RecordItem[]>();
  for (const { i, t } of sorted.slice(0, shown)) {
    const day = DAY.format(new Date(t));
    days.set(day, [...(days.get(day) ?? []), i]);
  }
  const verified = items.filter((i) => i.state.status === 'verified').length;
  const failed = items.filter((i) => i.state.status === 'tampered').length;
  return (
    <section aria-labelledby="timeline-h" className="timeline">
      <div className="timeline-head">
        <h2 id="timeline-h">Timeline</h2>
        <p role="status" aria-live="polite" className="muted">
          {items.length} records · {verified} verified
          {failed > 0 && <strong className="bad-text"> · {failed} failed verification</strong>}
        </p>
      </div>
      <fieldset className="filters">
        <legend className="sr-only">Filter by category</legend>
        {[['All', items.length] as const, ...counts].map(([c, n]) => (
          <button key={c} type="button" aria-pressed={category === c} onClick={() => setCategory(c)}>
            {c} <small>{n}</small>
          </button>
        ))}
      </fieldset>
      {items.length === 0 && <p className="empty">No records yet.</p>}
      {[...days.entries()].map(([day, list]) => (
        <section key={day} className="day" aria-label={day}>
          <h3 className="day-h">{day}</h3>
          {list.map((i) => (
            <RecordCard
              key={i.record.recordId}
              item={i}
              history={history.get(i.record.recordId) ?? []}
              {...(me ? { me } : {})}
              {...(editable && onChanged ? { onChanged } : {})}
            />
          ))}
        </section>
      ))}
      {sorted.length > shown && (
        <button type="button" onClick={() => setShown(shown + PAGE)}>
          Show {Math.min(PAGE, sorted.length - shown)} more
        </button>
      )}
    </section>
  );
}
