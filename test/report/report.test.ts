// Run reports: what is read from a run directory (steps, evaluations, divergence records, a last
// line cut short by a live run), the numbers `--json` states, the charts a run has data for, and a
// page that stays one piece whatever the recipe text holds; then the page in a real browser:
// headless Chromium opens it with the network cut, every chart draws a non-empty canvas, nothing
// is logged as an error, and a screenshot is written. Without Chromium that part is skipped, with
// the reason printed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRun, summarize } from '../../src/report/run-data.js';
import { chartData, renderReport } from '../../src/report/html.js';
import { UserError } from '../../src/errors.js';
import { fixture } from '../support/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bert-report-test-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

function pretrainingRun(name: string, steps: number, scaleDrop: boolean): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const lines: string[] = [];
  for (let s = 1; s <= steps; s++) {
    const loss = 8 - 2 * Math.log1p(s / 10) + 0.1 * Math.sin(s);
    lines.push(JSON.stringify({ step: s, loss, mlm_loss: loss - 0.7, mlm_acc: 0.01 * Math.log1p(s), nsp_loss: 0.69, nsp_acc: 0.5, lr: 1e-3 * Math.min(1, s / 10), grad_norm: 1 + 1 / s, skipped: false, tokens_per_s: 5000 + s, skipped_total: scaleDrop && s > 30 ? 1 : 0, ...(scaleDrop ? { loss_scale: s > 30 ? 32768 : 65536 } : {}), time: '2026-12-07T00:00:00Z' }));
    if (s % 20 === 0) lines.push(JSON.stringify({ eval: true, step: s, mlm_loss: 6 - s / 100, mlm_acc: 0.1, perplexity: 400, baseline_acc: 0.05, baseline_loss: 6.2, predictions: 640, nsp_loss: 0.62, nsp_acc: 0.7, time: 'x' }));
  }
  lines.push(JSON.stringify({ divergence: true, step: 25, loss: 30, median: 6, time: 'x' }));
  writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n') + '\n{"step": 61, "loss": 5.');
  writeFileSync(join(dir, 'recipe.yaml'), `version: 1\nname: ${name}\n# a comment with </script><script>alert(1)</script> in it\ntasks:\n  mlm: {}\n`);
  writeFileSync(
    join(dir, 'run.json'),
    JSON.stringify({ format: 'bert-webgpu.run/1', recipe: name, started: 'now', device: { description: 'llvmpipe', vendor: 'mesa', architecture: '', backend: 'vulkan', driver: 'Mesa', isCpu: true }, precision: 'f32', plans: [{ name: 'train-64x16', shape: { batch: 16, seq: 64, predictions: 10 }, dispatches: { microbatch: 123, optimizer: 77 }, flops: { microbatch: 2.94e9, optimizer: 1e7 }, bytes: { params: 2.8e6, activations_peak: 3e7 }, params: 702978 }] }),
  );
  return dir;
}

const a = pretrainingRun('alpha', 60, false);
const b = pretrainingRun('beta', 40, true);

test('a run directory read back: steps, evaluations, divergence records; a cut-short last line skipped', () => {
  const run = readRun(a);
  assert.is(run.steps.length, 60);
  assert.equal(run.evals.map((e) => e.step), [20, 40, 60]);
  assert.equal(run.divergences.map((d) => d.step), [25]);
  assert.is(run.task, 'pretraining');
  assert.is(run.info?.device.description, 'llvmpipe');
  const broken = join(root, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'metrics.jsonl'), '{"step": 1, "loss": 2}\n{oops}\n{"step": 2, "loss": 1}\n');
  try {
    readRun(broken);
    assert.unreachable('a malformed middle line is refused');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /broken\/metrics\.jsonl:2: invalid JSON/);
  }
  try {
    readRun(join(root, 'nothing'));
    assert.unreachable('a missing run directory is refused');
  } catch (e) {
    assert.match((e as Error).message, /nothing: no such run directory/);
  }
});

test('--json numbers: the last step, the last evaluation, the best evaluation, skipped steps', () => {
  const s = summarize(readRun(b)) as { steps: number; final: Record<string, number>; final_eval: Record<string, number>; best_eval: { metric: string; step: number; value: number }; skipped_steps: number; divergence_warnings: number };
  assert.is(s.steps, 40);
  assert.is(s.final.loss_scale, 32768);
  assert.is(s.final_eval.step, 40);
  assert.equal(s.best_eval, { metric: 'mlm_loss', step: 40, value: 5.6 });
  assert.is(s.skipped_steps, 1);
  assert.is(s.divergence_warnings, 1);
});

test('charts: every one with data, runs overlaid on one step axis; the recipe text cannot end a script', () => {
  const runs = [readRun(a), readRun(b)];
  const charts = chartData(runs);
  assert.equal(charts.map((c) => c.spec.id), ['loss', 'task-loss', 'task-acc', 'lr', 'grad-norm', 'throughput', 'skipped', 'loss-scale', 'eval-loss', 'eval-acc']);
  const loss = charts[0]!;
  assert.is(loss.x.length, 60);
  assert.equal(loss.series.map((s) => s.label), ['alpha: loss', 'beta: loss']);
  assert.is(loss.series[1]!.values[45], null, 'beta has no step 46');
  assert.equal(charts.find((c) => c.spec.id === 'loss-scale')!.series.map((s) => s.run), [1], 'only beta has a loss scale');
  const html = renderReport(runs);
  assert.not.match(html, /<\/script><script>alert/);
  assert.match(html, /&lt;\/script&gt;&lt;script&gt;alert\(1\)/);
  assert.not.match(html, /(src|href)=["']https?:/, 'nothing loaded from the network');
});

/** Debian's chromium (installed by .ci/run), or CHROMIUM_PATH. */
function chromiumPath(): string | undefined {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (p && existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

test('in headless Chromium with no network: every chart renders, no console errors, a screenshot', async () => {
  const executablePath = chromiumPath();
  if (!executablePath) {
    console.error('report browser check skipped: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)');
    return;
  }
  const page = join(root, 'report.html');
  const cli = spawnSync(process.execPath, [fixture('..', 'bin', 'bert-run.js'), 'report', a, b, '--out', page], { encoding: 'utf8' });
  assert.is(cli.status, 0, cli.stderr);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
    const blocked: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(`file://${page}`);
    // Page-side code as strings: the suite is compiled without the DOM library.
    await tab.waitForFunction('document.querySelectorAll("canvas").length > 0');
    const expected = Number(await tab.getAttribute('#charts', 'data-charts'));
    assert.is(expected, 10);
    // Every canvas has pixels drawn that are neither transparent nor white.
    const drawn = (await tab.evaluate(`[...document.querySelectorAll('canvas')].map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250)) ink++;
      return ink;
    })`)) as number[];
    assert.is(drawn.length, expected, 'one canvas per chart');
    assert.ok(drawn.every((n) => n > 500), `ink per canvas: ${drawn.join(', ')}`);
    assert.equal(errors, [], 'no console errors');
    assert.equal(blocked, [], 'no network requests');
    const shot = join(root, 'report.png');
    await tab.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'a screenshot was written');
  } finally {
    await browser.close();
  }
});

test.run();
