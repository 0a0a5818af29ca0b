// Moves parameters and optimizer moments between the host and the plan's buffers by name.
import type { KernelPlan, PlanParam } from '../plan/types.js';
import type { BufferPool } from '../runtime/executor.js';
import type { NamedTensor } from './checkpoint/safetensors.js';

export class ParamStore {
  constructor(
    readonly plan: KernelPlan,
    readonly pool: BufferPool,
  ) {}

  get params(): PlanParam[] {
    return this.plan.params;
  }

  upload(name: string, data: Float32Array, which: 'param' | 'm' | 'v' = 'param'): void {
    const p = this.find(name);
    const slot = which === 'param' ? p : p.state?.[which];
    if (!slot) throw new Error(`parameter ${name} has no ${which} slot`);
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`parameter ${name}: ${data.length} values for shape [${p.shape}]`);
    this.pool.runtime.write(this.pool.get(slot.buffer), data, slot.offset);
  }

  async download(which: 'param' | 'm' | 'v' = 'param'): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [];
    for (const p of this.plan.params) {
      const slot = which === 'param' ? p : p.state?.[which];
      if (!slot) continue;
      const bytes = await this.pool.runtime.read(this.pool.get(slot.buffer), slot.offset, p.size);
      out.push({ name: which === 'param' ? p.name : `${which}.${p.name}`, shape: p.shape, data: new Float32Array(bytes) });
    }
    return out;
  }

  private find(name: string): PlanParam {
    const p = this.plan.params.find((x) => x.name === name);
    if (!p) throw new Error(`no parameter ${name}`);
    return p;
  }
}
