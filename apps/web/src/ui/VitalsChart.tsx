/**
 * Trends of vital signs and numeric lab results from verified Observations (latest versions only), as plain SVG line
 * charts: one per measure with at least 2 points.
 */
import { codes, formatDate, isVitalSign, type Json, vitalPoints } from '../fhir/read.ts';
import { dateOf, type RecordItem, versionsOf } from '../lib/records.ts';

interface Series {
  key: string;
  label: string;
  unit: string;
  points: { t: number; v: number }[];
}

const isLab = (r: Json) =>
  r.resourceType === 'Observation' && codes(r.category).some((c) => c.code === 'laboratory');

export function vitalSeries(items: RecordItem[], which: (r: Json) => boolean = isVitalSign): Series[] {
  const by = new Map<string, Series>();
  for (const item of versionsOf(items).latest) {
    if (item.state.status !== 'verified' || !item.state.resource || !which(item.state.resource)) continue;
    const t = dateOf(item);
    for (const p of vitalPoints(item.state.resource)) {
      const s = by.get(p.key) ?? { key: p.key, label: p.label, unit: p.unit, points: [] };
      s.points.push({ t, v: p.value });
      by.set(p.key, s);
    }
  }
  return [...by.values()]
    .filter((s) => s.points.length >= 2)
    .map((s) => ({ ...s, points: s.points.sort((a, b) => a.t - b.t) }));
}

const W = 320;
const H = 120;
const PAD = { l: 40, r: 10, t: 10, b: 22 };

function Chart({ s }: { s: Series }) {
  const ts = s.points.map((p) => p.t);
  const vs = s.points.map((p) => p.v);
  const t0 = Math.min(...ts);
  const t1 = Math.max(...ts);
  let v0 = Math.min(...vs);
  let v1 = Math.max(...vs);
  if (v0 === v1) {
    v0 -= 1;
    v1 += 1;
  }
  const x = (t: number) => PAD.l + ((t - t0) / (t1 - t0 || 1)) * (W - PAD.l - PAD.r);
  const y = (v: number) => PAD.t + (1 - (v - v0) / (v1 - v0)) * (H - PAD.t - PAD.b);
  const path = s.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const last = s.points[s.points.length - 1]!;
  const desc = `${s.label}: ${s.points.length} readings from ${formatDate(t0)} to ${formatDate(t1)}, from ${Math.min(...vs)} to ${Math.max(...vs)} ${s.unit}; latest ${last.v} ${s.unit}.`;
  return (
    <figure className="chart">
      <figcaption>
        {s.label} <small>({s.unit})</small> — latest <strong>{last.v}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={desc} preserveAspectRatio="none">
        <line x1={PAD.l} x2={W - PAD.r} y1={H - PAD.b} y2={H - PAD.b} className="axis" />
        <text x={PAD.l - 4} y={y(v1) + 4} textAnchor="end" className="tick">
          {+v1.toFixed(1)}
        </text>
        <text x={PAD.l - 4} y={y(v0) + 4} textAnchor="end" className="tick">
          {+v0.toFixed(1)}
        </text>
        <text x={PAD.l} y={H - 6} className="tick">
          {new Date(t0).toLocaleDateString()}
        </text>
        <text x={W - PAD.r} y={H - 6} textAnchor="end" className="tick">
          {new Date(t1).toLocaleDateString()}
        </text>
        <path d={path} className="line" />
        {s.points.map((p) => (
          <circle key={`${p.t}-${p.v}`} cx={x(p.t)} cy={y(p.v)} r={3} className="dot">
            <title>
              {formatDate(p.t)}: {p.v} {s.unit}
            </title>
          </circle>
        ))}
      </svg>
    </figure>
  );
}

export function VitalsCharts({ items }: { items: RecordItem[] }) {
  return <Charts series={vitalSeries(items)} id="vitals-h" title="Vital signs over time" />;
}

export function LabCharts({ items }: { items: RecordItem[] }) {
  return <Charts series={vitalSeries(items, isLab)} id="labs-h" title="Lab results over time" />;
}

function Charts({ series, id, title }: { series: Series[]; id: string; title: string }) {
  if (series.length === 0) return null;
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <div className="charts">
        {series.map((s) => (
          <Chart key={s.key} s={s} />
        ))}
      </div>
    </section>
  );
}
