// The run report: one self-contained HTML page (no network: uPlot, its CSS and the data are inlined)
// with the training curves of one or more runs overlaid (loss, task losses and accuracies, learning
// rate, gradient norm, tokens/s, skipped steps, loss scale), the held-out evaluations against the
// unigram baseline (pretraining) or accuracy, F1 and MCC (fine-tuning; Pearson and Spearman for regression), each run's summary, device,
// plan and resolved recipe.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { summarize, type RunData } from './run-data.js';

/** A chart: one series per (run, key); `from` says which records hold the keys. */
export interface ChartSpec {
  id: string;
  title: string;
  from: 'steps' | 'evals';
  keys: Array<{ key: string; label: string }>;
  log?: boolean;
}

export const CHARTS: ChartSpec[] = [
  { id: 'loss', title: 'Training loss', from: 'steps', keys: [{ key: 'loss', label: 'loss' }] },
  { id: 'task-loss', title: 'MLM and NSP loss', from: 'steps', keys: [{ key: 'mlm_loss', label: 'MLM' }, { key: 'nsp_loss', label: 'NSP' }] },
  { id: 'task-acc', title: 'Training accuracy', from: 'steps', keys: [{ key: 'mlm_acc', label: 'MLM' }, { key: 'nsp_acc', label: 'NSP' }, { key: 'accuracy', label: 'accuracy' }] },
  { id: 'lr', title: 'Learning rate', from: 'steps', keys: [{ key: 'lr', label: 'lr' }] },
  { id: 'grad-norm', title: 'Gradient norm (before clipping)', from: 'steps', keys: [{ key: 'grad_norm', label: 'grad norm' }] },
  { id: 'throughput', title: 'Tokens/s', from: 'steps', keys: [{ key: 'tokens_per_s', label: 'tokens/s' }] },
  { id: 'skipped', title: 'Skipped steps (non-finite), total', from: 'steps', keys: [{ key: 'skipped_total', label: 'skipped' }] },
  { id: 'loss-scale', title: 'Loss scale', from: 'steps', keys: [{ key: 'loss_scale', label: 'scale' }], log: true },
  { id: 'eval-loss', title: 'Held-out MLM loss vs the unigram baseline', from: 'evals', keys: [{ key: 'mlm_loss', label: 'MLM' }, { key: 'baseline_loss', label: 'unigram' }, { key: 'nsp_loss', label: 'NSP' }] },
  { id: 'eval-acc', title: 'Held-out MLM accuracy vs the unigram baseline', from: 'evals', keys: [{ key: 'mlm_acc', label: 'MLM' }, { key: 'baseline_acc', label: 'unigram' }, { key: 'nsp_acc', label: 'NSP' }] },
  { id: 'eval-cls-loss', title: 'Validation loss', from: 'evals', keys: [{ key: 'loss', label: 'loss' }] },
  { id: 'eval-cls', title: 'Validation accuracy, F1, MCC', from: 'evals', keys: [{ key: 'accuracy', label: 'accuracy' }, { key: 'f1', label: 'F1' }, { key: 'macro_f1', label: 'macro F1' }, { key: 'mcc', label: 'MCC' }] },
  { id: 'eval-reg', title: 'Validation Pearson and Spearman correlation', from: 'evals', keys: [{ key: 'pearson', label: 'Pearson' }, { key: 'spearman', label: 'Spearman' }] },
];

/** The charts that have data in at least one run, each as aligned columns for uPlot: x, then one column per (run, key). */
/** Run labels: recipe names, or the run directories' names where two runs share a recipe name. */
export function runLabels(runs: RunData[]): string[] {
  const names = runs.map((r) => r.name);
  return runs.map((r) => (names.filter((n) => n === r.name).length > 1 ? basename(r.dir) : r.name));
}

export function chartData(runs: RunData[]): Array<{ spec: ChartSpec; x: number[]; series: Array<{ label: string; run: number; values: Array<number | null> }> }> {
  const out: ReturnType<typeof chartData> = [];
  const labels = runLabels(runs);
  for (const spec of CHARTS) {
    const xs = new Set<number>();
    const cols: Array<{ label: string; run: number; points: Map<number, number> }> = [];
    runs.forEach((run, r) => {
      for (const { key, label } of spec.keys) {
        const points = new Map<number, number>();
        for (const rec of run[spec.from]) {
          const v = rec[key];
          if (typeof v === 'number' && Number.isFinite(v) && typeof rec.step === 'number') points.set(rec.step, v);
        }
        if (points.size === 0) continue;
        for (const x of points.keys()) xs.add(x);
        cols.push({ label: runs.length > 1 ? `${labels[r]}: ${label}` : label, run: r, points });
      }
    });
    if (cols.length === 0) continue;
    const x = [...xs].sort((a, b) => a - b);
    out.push({ spec, x, series: cols.map((c) => ({ label: c.label, run: c.run, values: x.map((s) => c.points.get(s) ?? null) })) });
  }
  return out;
}

function uplotAssets(): { js: string; css: string } {
  const dist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  return { js: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'), css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8') };
}

const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
/** JSON or code inside <script>: a `</script` (or `<!--`) inside must not end the element. */
const scriptSafe = (s: string): string => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

const fmt = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(4)) : v === undefined ? '' : String(v));

function summaryTable(runs: RunData[]): string {
  const labels = runLabels(runs);
  const rows = runs.map((run, r) => {
    const s = summarize(run) as { steps: number; final: Record<string, number>; final_eval?: Record<string, number>; best_eval?: { metric: string; step: number; value: number }; skipped_steps: number };
    const ev = s.final_eval ?? {};
    const evalText = run.task === 'fine-tuning'
      ? ['accuracy', 'f1', 'macro_f1', 'mcc', 'mse', 'pearson', 'spearman', 'loss'].filter((k) => ev[k] !== undefined).map((k) => `${k} ${fmt(ev[k])}`).join(', ')
      : ['mlm_loss', 'mlm_acc', 'baseline_loss', 'baseline_acc', 'nsp_acc'].filter((k) => ev[k] !== undefined).map((k) => `${k} ${fmt(ev[k])}`).join(', ');
    const best = s.best_eval ? `${s.best_eval.metric} ${fmt(s.best_eval.value)} at step ${s.best_eval.step}` : '';
    return `<tr><td>${escapeHtml(labels[r]!)}</td><td>${run.task}</td><td>${fmt(s.steps)}</td><td>${fmt(s.final.loss)}</td><td>${escapeHtml(evalText)}</td><td>${escapeHtml(best)}</td><td>${fmt(s.skipped_steps)}</td><td>${fmt(s.final.tokens_per_s)}</td></tr>`;
  });
  return `<table><tr><th>run</th><th>task</th><th>steps</th><th>last loss</th><th>last evaluation</th><th>best evaluation</th><th>skipped</th><th>tokens/s</th></tr>${rows.join('')}</table>`;
}

function runDetails(run: RunData): string {
  const i = run.info;
  const device = i ? `${escapeHtml(i.device.description || i.device.architecture || i.device.vendor)} (${escapeHtml(i.device.backend)}${i.device.isCpu ? ', CPU' : ''}${i.device.driver ? `, ${escapeHtml(i.device.driver)}` : ''}), precision ${escapeHtml(i.precision)}` : 'not recorded (run.json missing)';
  const mib = (b: number | undefined) => (b === undefined ? '' : `${(b / 2 ** 20).toFixed(1)} MiB`);
  const plans = (i?.plans ?? [])
    .map((p) => `<tr><td>${escapeHtml(p.name)}</td><td>${p.shape.batch}×${p.shape.seq}</td><td>${fmt(p.dispatches.microbatch)} + ${fmt(p.dispatches.optimizer)}</td><td>${(p.flops.microbatch / 1e9).toFixed(2)}</td><td>${fmt(p.params)}</td><td>${mib(p.bytes.params)}</td><td>${mib(p.bytes.activations_peak)}</td></tr>`)
    .join('');
  return `<details class="run"><summary>${escapeHtml(run.name)} — ${escapeHtml(run.dir)}</summary>
<p>Device: ${device}${i ? `; started ${escapeHtml(i.started)}` : ''}</p>
${plans ? `<table><tr><th>plan</th><th>micro-batch</th><th>dispatches (micro-batch + update)</th><th>GFLOP per micro-batch</th><th>parameters</th><th>params</th><th>activations (peak)</th></tr>${plans}</table>` : ''}
${run.divergences.length ? `<p>Divergence warnings at steps ${run.divergences.map((d) => fmt(d.step)).join(', ')}</p>` : ''}
<details><summary>Resolved recipe</summary><pre>${escapeHtml(run.recipeText)}</pre></details></details>`;
}

/** The report page for these runs (overlaid on the same charts, one color per run). */
export function renderReport(runs: RunData[]): string {
  const { js, css } = uplotAssets();
  const charts = chartData(runs);
  const labels = runLabels(runs);
  const title = runs.length === 1 ? `${runs[0]!.name}: run report` : `${labels.join(' vs ')}: run report`;
  const data = { runs: labels, charts: charts.map((c) => ({ id: c.spec.id, title: c.spec.title, log: Boolean(c.spec.log), x: c.x, series: c.series })) };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } table { border-collapse: collapse; margin: .5em 0 1em; } td, th { border: 1px solid #ccc; padding: .25em .5em; text-align: left; }
#charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 1em; }
.chart h2 { font-size: 1em; margin: 0 0 .25em; } pre { background: #f6f6f6; padding: .5em; overflow: auto; max-height: 30em; }
</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
${summaryTable(runs)}
<div id="charts" data-charts="${charts.length}"></div>
${runs.map(runDetails).join('\n')}
<p><small>Written by bert-webgpu (bert-run report) from metrics.jsonl, run.json and recipe.yaml.</small></p>
<script>${scriptSafe(js)}</script>
<script id="report-data" type="application/json">${scriptSafe(JSON.stringify(data))}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
  var dashes = [[], [6, 3], [2, 3], [8, 3, 2, 3]];
  var root = document.getElementById('charts');
  data.charts.forEach(function (c) {
    var box = document.createElement('div');
    box.className = 'chart';
    box.id = 'chart-' + c.id;
    var h = document.createElement('h2');
    h.textContent = c.title;
    box.appendChild(h);
    root.appendChild(box);
    var perRun = {};
    var series = [{ label: 'step' }].concat(c.series.map(function (s) {
      var k = perRun[s.run] = (perRun[s.run] || 0) + 1;
      return { label: s.label, stroke: palette[s.run % palette.length], dash: dashes[(k - 1) % dashes.length], width: 1.5, spanGaps: true, points: { show: c.x.length < 40 } };
    }));
    // Small values (learning rates) keep their digits: 2.0e-3, not 0.002 twice.
    var yValues = function (u, ticks) {
      return ticks.map(function (v) { return v == null ? '' : v === 0 ? '0' : Math.abs(v) < 0.01 || Math.abs(v) >= 1e6 ? v.toExponential(1) : +v.toPrecision(4) + ''; });
    };
    var opts = { width: Math.max(420, box.clientWidth || 480), height: 260, series: series, scales: { x: { time: false }, y: c.log ? { distr: 3 } : {} }, axes: [{ label: 'step' }, { values: yValues, size: 60 }] };
    new uPlot(opts, [c.x].concat(c.series.map(function (s) { return s.values; })), box);
  });
})();
</script>
</body></html>
`;
}
