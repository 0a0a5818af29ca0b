// Ctrl-C during training: the current step finishes, a checkpoint is saved, the process exits
// with 130, and --resume continues from there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { listCheckpoints } from '../../src/train/checkpoint/checkpoints.js';
import { writeSyntheticCorpus, writeTinyRecipe } from '../support/synthetic-corpus.js';

const root = mkdtempSync(join(tmpdir(), 'bert-interrupt-test-'));
writeSyntheticCorpus(root, 30, 9);
const recipe = writeTinyRecipe(root);
const out = join(root, 'run');

function runUntil(args: string[], onLine: (event: Record<string, unknown>, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; events: Array<Record<string, unknown>> }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(packageRoot(), 'bin/bert-run.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Array<Record<string, unknown>> = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const event = JSON.parse(line) as Record<string, unknown>;
        events.push(event);
        onLine(event, child);
      }
    });
    child.stderr.resume();
    child.on('close', (code) => resolve({ code, events }));
  });
}

test('SIGINT saves a checkpoint and exits 130; --resume continues to the end', async () => {
  let sent = false;
  const first = await runUntil([recipe, '--out', out, '--json', '--set', 'schedule.steps=400', '--set', 'schedule.log.every=5'], (event, child) => {
    if (!sent && event.event === 'step' && (event.step as number) >= 10) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  assert.ok(sent, 'training never reached step 10');
  assert.is(first.code, 130);
  const saved = listCheckpoints(out);
  assert.is(saved.length, 1);
  assert.ok(saved[0]!.step >= 10 && saved[0]!.step < 400, `checkpoint at step ${saved[0]!.step}`);
  const second = await runUntil([recipe, '--out', out, '--json', '--set', 'schedule.steps=400', '--set', 'schedule.log.every=100', '--resume'], () => {});
  assert.is(second.code, 0);
  const steps = second.events.filter((e) => e.event === 'step').map((e) => e.step as number);
  assert.ok(steps.length > 0 && Math.min(...steps) > saved[0]!.step && Math.max(...steps) === 400, `resumed steps ${steps}`);
  rmSync(root, { recursive: true, force: true });
});

test.run();
