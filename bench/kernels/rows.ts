// rows benchmark cases at BERT-base: gathering the MLM prediction rows (predictions × hidden)
// from the (tokens × hidden) activations and scattering their gradient back.
import { rowsLaunch, usableRowsVariants, type RowsShape } from '../../src/compiler/kernels/rows.js';
import type { KernelCase, KernelCaseFactory } from '../kernel-case.js';

export function rowsCases(shapes: { label: string; shape: RowsShape }[], limits: Parameters<KernelCaseFactory>[1]): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const { label, shape } of shapes) {
    const { R, H, N } = shape;
    const gather = shape.op === 'gather_rows';
    for (const variant of usableRowsVariants(shape)) {
      cases.push({
        name: shape.op,
        variant,
        shape: label,
        launch: rowsLaunch(shape, limits, variant),
        bindingBytes: gather ? [4 * N * H, 4 * R, 4 * R * H] : [4 * R * H, 4 * R, 4 * R, 4 * N * H],
        // Random idx may repeat; weights are random non-integers (nonzero), so scatter rows may
        // collide: fine for timing, not for results.
        intBindings: { 1: N },
        baseline: variant === 'scalar',
      });
    }
  }
  return cases;
}

export const rowsBenchCases: KernelCaseFactory = (s, limits, quick) => {
  const [R, H, N] = quick ? [64, 128, 256] : [s.predictions, s.hidden, s.tokens];
  const label = `${R}of${N}x${H}`;
  return rowsCases(
    [
      { label, shape: { op: 'gather_rows', R, H, N } },
      { label, shape: { op: 'scatter_rows_add', R, H, N } },
    ],
    limits,
  );
};
