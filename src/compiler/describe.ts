// Human-readable dumps of a graph and a plan, for BERT_DEBUG=graph and BERT_DEBUG=plan.
import type { Graph } from '../graph/ir.js';
import type { KernelPlan } from '../plan/types.js';
import { pipelineKey } from '../plan/types.js';

export function describeGraph(g: Graph): string {
  const t = (id: number) => `${g.get(id).name}[${g.get(id).shape.join('x')}]`;
  const lines = [`graph: ${g.tensors.length} tensors, ${g.ops.length} ops`];
  g.ops.forEach((op, i) => {
    const ins = Object.entries(op.inputs).map(([k, id]) => `${k}=${t(id)}`).join(' ');
    const outs = Object.entries(op.outputs).map(([k, id]) => `${k}${op.accumulate.includes(k) ? '+=' : '='}${t(id)}`).join(' ');
    lines.push(`  ${String(i).padStart(4)} ${op.kind.padEnd(26)} ${op.label}  ${ins} -> ${outs}`);
  });
  return lines.join('\n');
}

export function describePlan(plan: KernelPlan): string {
  const lines = [`plan ${plan.name}: ${plan.steps.length} steps, ${plan.buffers.length} buffers, ${plan.pipelines.length} pipelines`];
  for (const s of plan.steps) {
    const bindings = s.bindings.map((b) => `${b.buffer}@${b.offset}+${b.size}`).join(' ');
    lines.push(`  ${s.stage.padEnd(10)} ${s.label.padEnd(56)} ${pipelineKey(s.pipeline)} wg=${s.workgroups.join('x')} flops=${s.flops} bytes=${s.bytes} [${bindings}]`);
  }
  return lines.join('\n');
}
