// The public API of bert-webgpu as a library: every export a program may rely on. The CLIs
// (bert-run, bert-bench) are thin layers over these.

// Recipes: load, validate, inspect.
export { loadRecipe, RecipeError, vocabRows, type LoadedRecipe, type LoadOptions, type Recipe } from './recipe/index.js';
export { modelStats, type ModelStats } from './graph/stats.js';
// Data: corpora, the BERT tokenizer, WordPiece training, pretraining instances and batches.
export { readCorpus, BertTokenizer, trainWordPiece, openPretrainingData, type Batch, type PretrainingData, type PretrainingDataOptions } from './data/index.js';
// Graph and compiler: recipe -> graph -> autodiff -> kernel plan (plain data).
export { buildModelGraph, type ModelGraph, type MicroBatchShape } from './graph/model.js';
export { appendBackward } from './graph/autodiff.js';
export { OP_DEFS } from './graph/ops/index.js';
export type { OpDef, OpDefs, OpCost } from './graph/op-def.js';
export { evaluate as evaluateOnCpu } from './graph/cpu-eval.js';
export { compile, type Compiled, type CompileOptions } from './compiler/compile.js';
export { DEFAULT_LIMITS, REFERENCE_LIMITS, type KernelPlan, type PlanStep, type DeviceLimits, type PipelineSpec, type Dispatch } from './plan/types.js';
export { encodeStepState, type StepState } from './plan/step-state.js';
// Runtime: the only layer that touches WebGPU.
export { openGpu, probeAdapter, type Gpu, type AdapterReport } from './runtime/device.js';
export { Runtime, GpuError } from './runtime/runtime.js';
export { BufferPool, PlanExecutor } from './runtime/executor.js';
// Training and inference.
export { train, evaluate, type TrainOptions, type TrainResult } from './train/runner.js';
export { learningRate, type LrSchedule } from './train/schedule.js';
export { readSafetensors, writeSafetensors } from './train/checkpoint/safetensors.js';
export { toHuggingFace, fromHuggingFace, bertConfig } from './train/checkpoint/hf-names.js';
export { UserError } from './errors.js';
export { InferenceModel, fillMask } from './train/inference.js';
