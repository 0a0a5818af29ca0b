// Memory planning: places every tensor in a buffer. Parameters, gradients and optimizer moments
// get persistent arenas with the same layout (one offset serves all four); activations share
// arenas by liveness (greedy best-offset placement, largest first), so memory is reused once a
// tensor's last reader has run (whole buffers, see below). Every offset is aligned for binding, every tensor fits one
// binding (maxStorageBufferBindingSize) and every arena fits maxBufferSize.
import { UserError } from '../errors.js';
import type { Graph, Tensor } from '../graph/ir.js';
import type { BufferDecl, BufferSlice, DeviceLimits } from '../plan/types.js';

export interface Placement extends BufferSlice {
  tensor: number;
}

export interface MemoryPlan {
  buffers: BufferDecl[];
  /** Tensor id → where it lives. */
  placements: Map<number, Placement>;
  /** Param tensor id → its slot in the optimizer arenas (same buffer index and offset). */
  bytes: { params: number; grads: number; optimizer: number; activations_peak: number; activations_unplanned: number; inputs: number; param_copies?: number };
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;
/** Bytes of a tensor's storage: 2 per f16 element, 4 otherwise, rounded up to 4 (binding sizes must be). */
const bytesOf = (t: Tensor) => Math.max(4, alignUp(t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'f16' ? 2 : 4), 4));

/** Op-index lifetime [first, last] of every activation tensor, in-place outputs merged into their base. */
function lifetimes(g: Graph): Map<number, [number, number]> {
  const life = new Map<number, [number, number]>();
  const base = (id: number) => {
    let t = g.get(id);
    while (t.inPlaceOf !== undefined) t = g.get(t.inPlaceOf);
    return t.id;
  };
  g.ops.forEach((op, i) => {
    for (const id of [...Object.values(op.inputs), ...Object.values(op.outputs)]) {
      if (g.get(id).role !== 'activation') continue;
      const b = base(id);
      const span = life.get(b);
      if (span) {
        span[0] = Math.min(span[0], i);
        span[1] = Math.max(span[1], i);
      } else life.set(b, [i, i]);
    }
  });
  for (const [id, span] of life) if (g.get(id).keep) span[1] = g.ops.length;
  return life;
}

function checkBinding(t: Tensor, bytes: number, limits: DeviceLimits, hint: string): void {
  if (bytes > limits.maxStorageBufferBindingSize) {
    throw new UserError(
      `tensor ${t.name} [${t.shape.join(', ')}] needs ${(bytes / 2 ** 20).toFixed(1)} MiB, over the planned device's ` +
        `${(limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB storage-binding limit; ${hint}`,
      'tensor_too_large',
      1,
    );
  }
}

/** Packs tensors sequentially into arenas of at most `capacity` bytes. */
function packSequential(tensors: Tensor[], prefix: string, capacity: number, align: number, limits: DeviceLimits, out: MemoryPlan, role: BufferDecl['role']): Array<{ id: string; offset: number }> {
  const slots: Array<{ id: string; offset: number }> = [];
  let arena = 0;
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const bytes = bytesOf(t);
    checkBinding(t, bytes, limits, 'use a smaller model');
    if (offset > 0 && offset + bytes > capacity) {
      sizes[arena] = offset;
      arena++;
      offset = 0;
    }
    slots.push({ id: `${prefix}.${arena}`, offset });
    offset = alignUp(offset + bytes, align);
  }
  sizes[arena] = offset;
  sizes.forEach((size, i) => out.buffers.push({ id: `${prefix}.${i}`, bytes: Math.max(4, size), role }));
  return slots;
}

export interface MemoryOptions {
  /** Optimizer moment arenas (2 for Adam/LAMB). */
  optimizerSlots: string[];
  /**
   * Parameters are packed in ascending order of this key, graph order within a key: the
   * optimizer keeps same-hyperparameter tensors adjacent so one dispatch updates a whole run.
   */
  paramOrder?: (t: Tensor) => number;
}

export function planMemory(g: Graph, limits: DeviceLimits, options: MemoryOptions): MemoryPlan {
  const align = Math.max(16, limits.minStorageBufferOffsetAlignment);
  const capacity = Math.min(limits.maxBufferSize, 2 ** 31);
  const plan: MemoryPlan = {
    buffers: [],
    placements: new Map(),
    bytes: { params: 0, grads: 0, optimizer: 0, activations_peak: 0, activations_unplanned: 0, inputs: 0 },
  };

  // Parameters, and mirrored gradients and optimizer moments. With mixed precision the f16
  // copies mirror the masters at half their byte offsets (element i of a master is element i of
  // its copy, so one convert covers a run of tensors); masters are aligned to twice the binding
  // alignment so that the copies' halves stay aligned.
  const copies = g.tensors.filter((t) => t.role === 'param_copy');
  const packOrder = options.paramOrder;
  const params = packOrder ? g.params().map((t, i) => ({ t, i, key: packOrder(t) })).sort((a, b) => a.key - b.key || a.i - b.i).map((x) => x.t) : g.params();
  const paramSlots = packSequential(params, 'params', capacity, copies.length > 0 ? 2 * align : align, limits, plan, 'param');
  const gradOf = new Map<number, Tensor>();
  for (const t of g.tensors) if (t.role === 'grad' && t.gradOf !== undefined) gradOf.set(t.gradOf, t);
  params.forEach((p, i) => {
    const slot = paramSlots[i]!;
    const bytes = bytesOf(p);
    plan.placements.set(p.id, { tensor: p.id, buffer: slot.id, offset: slot.offset, size: bytes });
    const grad = gradOf.get(p.id);
    if (grad) plan.placements.set(grad.id, { tensor: grad.id, buffer: slot.id.replace('params', 'grads'), offset: slot.offset, size: bytes });
  });
  const paramBuffers = plan.buffers.filter((b) => b.role === 'param');
  plan.bytes.params = paramBuffers.reduce((s, b) => s + b.bytes, 0);
  if (gradOf.size > 0) {
    for (const b of paramBuffers) plan.buffers.push({ id: b.id.replace('params', 'grads'), bytes: b.bytes, role: 'grad' });
    plan.bytes.grads = plan.bytes.params;
    for (const slot of options.optimizerSlots) {
      for (const b of paramBuffers) plan.buffers.push({ id: b.id.replace('params', slot), bytes: b.bytes, role: 'optimizer' });
      plan.bytes.optimizer += plan.bytes.params;
    }
  }

  // Mixed precision: the f16 parameter copies the ops read, in persistent arenas half the size of
  // the masters', each copy at half its master's offset.
  if (copies.length > 0) {
    for (const b of paramBuffers) plan.buffers.push({ id: b.id.replace('params', 'params16'), bytes: Math.max(4, alignUp(b.bytes / 2, 4)), role: 'param' });
    for (const t of copies) {
      const master = plan.placements.get(t.copyOf!);
      if (!master) throw new Error(`memory: the master of parameter copy ${t.name} has no placement`);
      plan.placements.set(t.id, { tensor: t.id, buffer: master.buffer.replace('params', 'params16'), offset: master.offset / 2, size: bytesOf(t) });
    }
    plan.bytes.param_copies = plan.buffers.filter((b) => b.id.startsWith('params16.')).reduce((s, b) => s + b.bytes, 0);
  }

  // Inputs and metrics: small, persistent.
  const inputs = g.tensors.filter((t) => t.role === 'input');
  packSequential(inputs, 'inputs', capacity, align, limits, plan, 'io').forEach((slot, i) => {
    const t = inputs[i]!;
    plan.placements.set(t.id, { tensor: t.id, buffer: slot.id, offset: slot.offset, size: bytesOf(t) });
  });
  plan.bytes.inputs = plan.buffers.filter((b) => b.role === 'io').reduce((s, b) => s + b.bytes, 0);
  const metrics = g.tensors.filter((t) => t.role === 'metric');
  // Each metric is bound on its own, so each sits at a binding-aligned offset.
  metrics.forEach((t, i) => plan.placements.set(t.id, { tensor: t.id, buffer: 'metrics', offset: i * align, size: 4 }));
  if (metrics.length > 0) plan.buffers.push({ id: 'metrics', bytes: metrics.length * align, role: 'io' });

  // Activations by liveness. WebGPU forbids binding one buffer both read-only and writable in
  // the same dispatch, even at disjoint ranges, so activations cannot share an arena by offset:
  // each tensor gets a whole buffer, and tensors whose lifetimes do not overlap share one
  // (greedy, largest first, best-fitting free buffer). An op's inputs and outputs are live
  // together, so they always sit in different buffers.
  const life = lifetimes(g);
  const order = [...life.keys()].sort((a, b) => bytesOf(g.get(b)) - bytesOf(g.get(a)) || a - b);
  interface Slot { bytes: number; spans: Array<[number, number]> }
  const slots: Slot[] = [];
  for (const id of order) {
    const t = g.get(id);
    const bytes = bytesOf(t);
    checkBinding(t, bytes, limits, 'lower schedule.micro_batch_size (or the sequence length)');
    plan.bytes.activations_unplanned += alignUp(bytes, align);
    const [first, last] = life.get(id)!;
    const free = slots.filter((s) => s.spans.every(([a, b]) => b < first || last < a));
    const fitting = free.filter((s) => s.bytes >= bytes).sort((a, b) => a.bytes - b.bytes)[0];
    const slot = fitting ?? free.sort((a, b) => b.bytes - a.bytes)[0] ?? { bytes: 0, spans: [] };
    if (!slots.includes(slot)) slots.push(slot);
    slot.bytes = Math.max(slot.bytes, alignUp(bytes, align));
    slot.spans.push([first, last]);
    plan.placements.set(id, { tensor: id, buffer: `activations.${slots.indexOf(slot)}`, offset: 0, size: bytes });
  }
  slots.forEach((slot, i) => plan.buffers.push({ id: `activations.${i}`, bytes: Math.max(16, slot.bytes), role: 'activation' }));
  plan.bytes.activations_peak = slots.reduce((s, slot) => s + slot.bytes, 0);
  // Mixed precision: say per buffer which element types it holds.
  if (g.tensors.some((t) => t.dtype === 'f16')) {
    const types = new Map<string, Set<'f32' | 'f16' | 'i32'>>();
    for (const [id, p] of plan.placements) types.set(p.buffer, (types.get(p.buffer) ?? new Set()).add(g.get(id).dtype));
    for (const b of plan.buffers) {
      const grad = /^(grads|m|v)\./.test(b.id) ? 'f32' : undefined;
      const set = types.get(b.id) ?? (grad ? new Set([grad] as const) : undefined);
      if (set) b.dtypes = [...set].sort();
    }
  }
  // In-place tensors share their base's placement (size of their own shape).
  for (const t of g.tensors) {
    if (t.inPlaceOf === undefined) continue;
    let base = t;
    while (base.inPlaceOf !== undefined) base = g.get(base.inPlaceOf);
    const p = plan.placements.get(base.id);
    if (p) plan.placements.set(t.id, { ...p, tensor: t.id, size: bytesOf(t) });
  }
  return plan;
}
