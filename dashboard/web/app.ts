// The dashboard page: one EventSource on /events, and each snapshot redrawn in place. Charts are uPlot
// (bundled from node_modules by the dashboard server); everything else is plain DOM. Text from the data
// (page paths, metric dimensions) only ever goes through textContent.
import uPlot from 'uplot';
import type { AnomalyRow, DashboardSnapshot, FigureSource } from '../snapshot.js';
import { formatBytes } from '../format.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
};
const field = (name: string): HTMLElement => {
  const element = document.querySelector<HTMLElement>(`[data-field="${name}"]`);
  if (!element) throw new Error(`[data-field=${name}] is missing from the page`);
  return element;
};

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const count = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : integer.format(n));

export const bytes = (n: number): string => formatBytes(n, (value) => decimal.format(value));

export function duration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${integer.format(ms)} ms`;
  if (ms < 60_000) return `${decimal.format(ms / 1000)} s`;
  return `${decimal.format(ms / 60_000)} min`;
}

const clock = (iso: string): string => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const plural = (n: number, one: string, many: string): string => `${count(n)} ${n === 1 ? one : many}`;
const figure = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const SOURCE_LABEL: Record<FigureSource, string> = { aggregates: 'Flink aggregates', lake: 'Lake (DuckDB)', none: 'no data yet' };

function setSource(element: HTMLElement, source: FigureSource): void {
  element.textContent = SOURCE_LABEL[source];
  element.dataset['source'] = source;
}

// ---- charts ------------------------------------------------------------------------------------------
const BLUE = '#2f6fde';
const TEAL = '#0f9488';
const AMBER = '#c27c0e';
const RED = '#d0343a';
const GRID = { stroke: '#eceef2', width: 1 };
const AXIS = { stroke: '#677086', grid: GRID, ticks: { stroke: '#e3e6ec', width: 1, size: 4 }, font: '11px system-ui, sans-serif' };

interface Chart {
  plot: uPlot;
  container: HTMLElement;
}

function chart(containerId: string, options: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData): Chart {
  const container = $(containerId);
  const size = () => ({ width: Math.max(200, container.clientWidth), height: Math.max(120, container.clientHeight - 34) });
  const plot = new uPlot({ ...options, ...size() }, data, container);
  new ResizeObserver(() => plot.setSize(size())).observe(container);
  return { plot, container };
}

// The last hour, and the current minute in full (its bar starts at the minute).
const lastHour = (): [number, number] => {
  const now = Date.now() / 1000;
  return [now - 3600, now + 60];
};
const timeScale: uPlot.Scale = { time: true, range: () => lastHour() };

const bars = uPlot.paths.bars!({ size: [0.7, 18] });

const eventsChart = chart(
  'chart-events',
  {
    scales: { x: timeScale, y: { range: (_u, _min, max) => [0, Math.max(5, max * 1.15)] } },
    axes: [AXIS, { ...AXIS, size: 50 }],
    series: [{}, { label: 'Events', stroke: BLUE, fill: `${BLUE}55`, width: 1, paths: bars, points: { show: false } }],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  },
  [[], []],
);

const visitorsChart = chart(
  'chart-visitors',
  {
    scales: { x: timeScale, y: { range: (_u, _min, max) => [0, Math.max(5, max * 1.15)] } },
    axes: [AXIS, { ...AXIS, size: 50 }],
    series: [{}, { label: 'Visitors', stroke: TEAL, fill: `${TEAL}22`, width: 2, points: { show: true, size: 4 } }],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  },
  [[], []],
);

const anomalyChart = chart(
  'chart-anomalies',
  {
    scales: { x: timeScale, y: { range: (_u, min, max) => [Math.min(-4, min * 1.2), Math.max(4, max * 1.2)] } },
    axes: [AXIS, { ...AXIS, size: 44, label: 'z-score', labelSize: 14, labelFont: '11px system-ui, sans-serif' }],
    series: [
      {},
      { label: 'Warning', stroke: AMBER, fill: AMBER, width: 0, paths: () => null, points: { show: true, size: 9, fill: AMBER } },
      { label: 'Critical', stroke: RED, fill: RED, width: 0, paths: () => null, points: { show: true, size: 11, fill: RED } },
    ],
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
  },
  [[], [], []],
);

function setChartData(target: Chart, data: uPlot.AlignedData, points: number): void {
  target.plot.setData(data);
  // For people and tests alike: how many points the chart holds now.
  target.container.dataset['points'] = String(points);
}

// ---- panels ------------------------------------------------------------------------------------------
function renderTraffic(s: DashboardSnapshot): void {
  const minutes = s.traffic.minutes;
  setSource($('traffic-source'), s.traffic.source);
  setSource($('visitors-source'), s.traffic.source);
  $('traffic-note').textContent = `Source: ${s.traffic.note}.`;
  const live = s.traffic.live;
  $('traffic-live').textContent = live
    ? `This minute so far (${live.minuteStart.slice(11, 16)}–${live.upTo.slice(11, 19)}Z): ${count(live.events)} events` +
      (live.visitors === null ? '' : `, ${count(live.visitors)} visitors`)
    : '';
  setChartData(eventsChart, [minutes.map((m) => m.t), minutes.map((m) => m.events)], minutes.length);
  const withVisitors = minutes.filter((m) => m.visitors !== null);
  setChartData(visitorsChart, [withVisitors.map((m) => m.t), withVisitors.map((m) => m.visitors)], withVisitors.length);
}

function renderTopPages(s: DashboardSnapshot): void {
  setSource($('pages-source'), s.topPages.source);
  $('pages-note').textContent = `Source: ${s.topPages.note}.`;
  renderBarList(
    $('top-pages'),
    s.topPages.pages.map((p) => ({
      name: p.page,
      title: p.page,
      count: `${plural(p.views, 'view', 'views')}${p.visitors === null ? '' : ` · ${plural(p.visitors, 'visitor', 'visitors')}`}`,
      value: p.views,
    })),
    'No page views in the last hour yet.',
  );
}

/** A ranked list: per row its name, its counts, and a bar as long as its share of the largest value. */
function renderBarList(list: HTMLElement, rows: { name: string; title?: string; count: string; value: number }[], empty: string): void {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const items = rows.map((r) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = r.name;
    if (r.title) name.title = r.title;
    const n = document.createElement('span');
    n.className = 'count';
    n.textContent = r.count;
    const track = document.createElement('span');
    track.className = 'track';
    const fill = document.createElement('span');
    fill.className = 'fill';
    fill.style.display = 'block';
    fill.style.width = `${(100 * r.value) / max}%`;
    track.append(fill);
    li.append(name, n, track);
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'none';
    li.textContent = empty;
    items.push(li);
  }
  list.replaceChildren(...items);
  list.dataset['points'] = String(rows.length);
}

const regionNames = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'region' }) : undefined;
const countryName = (code: string): string => {
  try {
    return regionNames?.of(code) ?? code;
  } catch {
    return code;
  }
};

function renderGeo(s: DashboardSnapshot): void {
  setSource($('countries-source'), s.geo.source);
  setSource($('bots-source'), s.geo.source);
  $('countries-note').textContent = `Source: ${s.geo.note}.`;
  renderBarList(
    $('countries'),
    s.geo.countries.map((c) => ({ name: `${countryName(c.country)} (${c.country})`, count: `${plural(c.visitors, 'visitor', 'visitors')} · ${plural(c.events, 'event', 'events')}`, value: c.visitors })),
    'No located visitors in the last hour yet.',
  );
  for (const reason of ['user_agent', 'crawler_network', 'data_centre']) {
    const bots = s.geo.bots.find((b) => b.reason === reason);
    field(`bots-${reason}`).textContent = bots ? `${count(bots.events)} (${count(bots.visitors)})` : '0';
  }
  field('unlocated').textContent = count(s.geo.unlocatedEvents);
}

function renderPlansAndIdentities(s: DashboardSnapshot): void {
  setSource($('violations-source'), s.plans.source);
  $('violations-note').textContent = `Source: ${s.plans.note}.`;
  field('flagged').textContent = count(s.plans.flaggedEvents);
  renderBarList(
    $('violations'),
    s.plans.violations.map((v) => ({ name: `${v.event} · ${v.violation}`, count: plural(v.events, 'event', 'events'), value: v.events })),
    'No event broke its plan in the last hour.',
  );
  setSource($('identities-source'), s.identities.source);
  $('identities-note').textContent = `Source: ${s.identities.note}.`;
  field('identity-users').textContent = count(s.identities.users);
  field('identity-devices').textContent = count(s.identities.devices);
  field('identity-shared').textContent = count(s.identities.sharedDevices);
  field('identity-multi').textContent = count(s.identities.multiDeviceUsers);
  field('identity-stitched').textContent = `${count(s.identities.stitchedEvents)} of ${count(s.identities.anonymousEvents)}`;
}

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

const metricValue = (row: AnomalyRow, value: number | null): string => {
  if (value === null) return '–';
  return row.metric === 'bot_share' ? `${figure.format(value * 100)} %` : figure.format(value);
};

function renderAnomalies(s: DashboardSnapshot): void {
  const items = s.anomalies.items;
  $('kpi-anomalies').textContent = count(s.anomalies.total);
  $('anomalies-note').textContent = `Source: ${s.anomalies.note}.`;
  const critical = items.filter((a) => a.severity === 'critical').length;
  $('kpi-anomalies-hint').textContent = items.length > 0 ? `${critical} critical · latest ${clock(items[0]!.window_start)}` : 'none yet · stream + alerts file';

  // uPlot wants increasing x values: anomalies of one window are spread by a millisecond each.
  const ordered = [...items].sort((a, b) => a.window_start.localeCompare(b.window_start));
  const xs = ordered.map((a, i) => Date.parse(a.window_start) / 1000 + i / 1000);
  setChartData(
    anomalyChart,
    [xs, ordered.map((a) => (a.severity === 'warning' ? a.score : null)), ordered.map((a) => (a.severity === 'critical' ? a.score : null))],
    ordered.length,
  );

  const rows = items.map((a) => {
    const tr = document.createElement('tr');
    const severity = document.createElement('td');
    const badge = document.createElement('span');
    badge.className = `sev ${a.severity}`;
    badge.textContent = `${a.severity} ${a.direction === 'spike' ? '↑' : a.direction === 'drop' ? '↓' : '∅'}`;
    badge.title = a.direction;
    severity.append(badge);
    const metric = cell(a.metric, 'metric');
    const dimension = document.createElement('span');
    dimension.className = 'dim';
    dimension.textContent = a.dimension;
    dimension.title = a.dimension;
    metric.append(dimension);
    tr.append(
      cell(clock(a.window_start)),
      metric,
      cell(`${metricValue(a, a.observed)} / ${metricValue(a, a.expected)}`, 'num'),
      cell(decimal.format(a.score), 'num'),
      severity,
      cell(a.sources.join(', ')),
    );
    tr.cells[0]!.title = `${a.window_start} – ${a.window_end} (${a.baseline_windows} baseline windows)`;
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    tr.className = 'none';
    const td = cell('No anomalies yet. They come from the Flink job (anomalies stream) and the alert consumer.');
    td.colSpan = 6;
    tr.append(td);
    rows.push(tr);
  }
  $('anomaly-rows').replaceChildren(...rows);
}

function lagClass(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 10_000) return 'lag-ok';
  if (ms < 60_000) return 'lag-warn';
  return 'lag-bad';
}

function renderHealth(s: DashboardSnapshot): void {
  const h = s.health;
  $('kpi-rate').textContent = decimal.format(h.eventsPerSecond);
  $('kpi-events').textContent = count(s.visitors.eventsLastHour);
  $('kpi-visitors').textContent = count(s.visitors.lastHour);
  $('kpi-lake').textContent = `${count(h.lake.objectsWritten)} · ${bytes(h.lake.bytesWritten)}`;
  $('kpi-lake-hint').textContent = `Parquet objects · bytes · ${count(h.lake.rowsDelivered)} rows`;

  const rows = h.consumers.map((c) => {
    const tr = document.createElement('tr');
    const lag = c.idle ? cell('idle', 'num lag-ok') : cell(duration(c.lagMs), `num ${lagClass(c.lagMs)}`);
    tr.append(cell(c.name), lag, cell(duration(c.millisBehindLatest), 'num'), cell(count(c.recordsIn), 'num'));
    return tr;
  });
  $('consumer-rows').replaceChildren(...rows);

  const set = (name: string, value: string, alert = false) => {
    const element = field(name);
    element.textContent = value;
    element.classList.toggle('alert', alert);
  };
  set('bad-rows', count(h.badRows));
  set('dlq', count(h.deadLetters), h.deadLetters > 0);
  set('firehose-errors', count(h.lake.failedRecords), h.lake.failedRecords > 0);
  set('lake-files', count(h.lake.objectsWritten));
  set('lake-bytes', bytes(h.lake.bytesWritten));
  set('lake-rows', count(h.lake.rowsDelivered));
  set('aggregates', count(h.aggregates));
  set('anomaly-rows', count(h.anomalies));
  $('lake-read').textContent = h.lake.readError
    ? `Last lake read failed (retried next tick): ${h.lake.readError}`
    : h.lake.readAt
      ? `Lake last read ${new Date(h.lake.readAt).toLocaleTimeString()} (DuckDB, every 5 s). Bad rows and dead letters count all runs; the rest is this run.`
      : 'The lake has not been read yet.';

  const demo = h.demo;
  set('demo-sent', count(demo?.sent));
  set('demo-accepted', count(demo?.accepted));
  set('demo-rejected', count(demo?.rejected));
  set('demo-failed', count(demo?.failed), (demo?.failed ?? 0) > 0);
  $('demo-note').textContent = demo
    ? `${count(demo.invalid)} invalid on purpose (rejected at ingest or bad rows), ${count(demo.retriedDuplicates)} retried duplicates (dropped by dedup)${demo.spiking ? ' · traffic spike on now' : ''}.`
    : 'Demo traffic is off (npm start --no-demo).';
}

function render(s: DashboardSnapshot): void {
  renderTraffic(s);
  renderTopPages(s);
  renderGeo(s);
  renderPlansAndIdentities(s);
  renderAnomalies(s);
  renderHealth(s);
  document.body.dataset['updated'] = s.generatedAt;
}

// ---- live updates ------------------------------------------------------------------------------------
function setConnection(state: 'connecting' | 'live' | 'lost', text: string): void {
  const badge = $('connection');
  badge.dataset['state'] = state;
  $('connection-text').textContent = text;
}

const source = new EventSource('/events');
source.onmessage = (message: MessageEvent<string>) => {
  const snapshot = JSON.parse(message.data) as DashboardSnapshot;
  render(snapshot);
  setConnection('live', `live · ${new Date(snapshot.generatedAt).toLocaleTimeString()}`);
};
source.onerror = () => setConnection(source.readyState === EventSource.CLOSED ? 'lost' : 'connecting', 'reconnecting…');
