// Applies every op's shape rule to a built graph: each output tensor must have the shape its op
// says. A mismatch is a bug in a graph builder or a gradient rule, caught at compile time with
// the op's label instead of as wrong numbers on the device.
import type { Graph, Op } from './ir.js';
import type { OpDef } from './op-def.js';
import { OP_DEFS } from './ops/index.js';

export function checkShapes(g: Graph): void {
  const shapeOf = (id: number) => g.get(id).shape;
  for (const op of g.ops) {
    const expected = (OP_DEFS[op.kind] as OpDef<Op['kind']>).shapes(op, shapeOf) as Record<string, readonly number[] | undefined>;
    const outputs = op.outputs as Record<string, number | undefined>;
    for (const [name, shape] of Object.entries(expected)) {
      const id = outputs[name];
      if (id === undefined || shape === undefined) continue;
      const got = g.get(id).shape;
      if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
        throw new Error(`graph: ${op.label} (${op.kind}) output ${name} (${g.get(id).name}) has shape [${got.join(', ')}], its shape rule says [${shape.join(', ')}]`);
      }
    }
  }
}
