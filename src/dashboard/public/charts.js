// The overview's charts (uPlot): jobs finished per second and the failure rate per minute, last hour.
import uPlot from './vendor/uplot.js';
import { html, useEffect, useRef } from './ui.js';

function perMinute(series) {
  const t = [],
    rate = [];
  for (let i = 0; i < series.t.length; i += 60) {
    let ok = 0,
      bad = 0;
    for (let j = i; j < Math.min(i + 60, series.t.length); j++) {
      ok += series.succeeded[j];
      bad += series.failed[j];
    }
    t.push(series.t[i]);
    rate.push(ok + bad === 0 ? null : (100 * bad) / (ok + bad));
  }
  return [t, rate];
}

function Chart({ title, data, series, label }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const width = Math.max(300, box.current.clientWidth - 16);
    plot.current = new uPlot({ title, width, height: 220, series: [{}, ...series], axes: [{}, { label }] }, data, box.current);
    return () => plot.current.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return html`<figure class="chart" role="img" aria-label=${`${title} (chart; the same figures are in the counts above)`} ref=${box}></figure>`;
}

export function Charts({ series }) {
  if (!series) return null;
  const throughput = [series.t, series.succeeded, series.failed];
  return html`<div class="charts">
    <${Chart} title="Jobs finished per second, last hour" label="jobs/s" data=${throughput}
      series=${[{ label: 'succeeded', stroke: '#1f5f3a' }, { label: 'failed', stroke: '#a11d1d' }]} />
    <${Chart} title="Failure rate per minute, last hour" label="% failed" data=${perMinute(series)}
      series=${[{ label: 'failed %', stroke: '#a11d1d', points: { show: true } }]} />
  </div>`;
}
