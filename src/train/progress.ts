// Training progress for people and machines: a live line on a terminal (step/total, loss, MLM
// and NSP accuracy, LR, tokens/s, ETA), plain periodic lines otherwise, JSON lines with --json.
export interface StepReport {
  step: number;
  total: number;
  loss: number;
  mlm_loss?: number;
  mlm_acc?: number;
  nsp_loss?: number;
  nsp_acc?: number;
  /** Fine-tuning: training accuracy and epochs done. */
  accuracy?: number;
  epoch?: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  skipped: number;
  eta_s: number;
  /** Dynamic loss scale, when on. */
  loss_scale?: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class Progress {
  private live = false;
  constructor(
    private readonly json: boolean,
    private readonly tty: boolean = Boolean(process.stderr.isTTY) && !json,
  ) {}

  /** A one-off message (data preparation, evaluation results, checkpoints). */
  info(message: string, fields?: Record<string, unknown>): void {
    this.endLive();
    if (this.json) console.log(JSON.stringify({ event: 'info', message, ...fields }));
    else process.stderr.write(`${message}\n`);
  }

  step(r: StepReport, logLine: boolean): void {
    const text =
      `step ${r.step}/${r.total} | loss ${r.loss.toFixed(4)}` +
      (r.mlm_acc !== undefined ? ` | mlm acc ${r.mlm_acc.toFixed(3)}` : '') +
      (r.nsp_acc !== undefined ? ` | nsp acc ${r.nsp_acc.toFixed(3)}` : '') +
      (r.accuracy !== undefined ? ` | acc ${r.accuracy.toFixed(3)} | epoch ${r.epoch!.toFixed(2)}` : '') +
      ` | lr ${r.lr.toExponential(2)} | ${Math.round(r.tokens_per_s)} tok/s | ETA ${formatDuration(r.eta_s)}` +
      (r.skipped > 0 ? ` | skipped ${r.skipped}` : '') +
      (r.loss_scale !== undefined ? ` | scale ${r.loss_scale}` : '');
    if (this.json) {
      if (logLine) console.log(JSON.stringify({ event: 'step', ...r }));
      return;
    }
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${text}`);
      this.live = true;
      if (logLine) this.endLive();
    } else if (logLine) process.stderr.write(`${text}\n`);
  }

  endLive(): void {
    if (this.live) process.stderr.write('\n');
    this.live = false;
  }
}
