// The environment variables that steer the compiler, read in one place by the CLIs and passed
// down as plain options, so that src/compiler and src/graph stay pure functions of their inputs.

/** BERT_VARIANT_<KERNEL>=name → { kernel: name } (kernel names lowercased, as the compiler keys them). */
export function kernelVariantsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const m = /^BERT_VARIANT_([A-Z0-9_]+)$/.exec(key);
    if (m && value) out[m[1]!.toLowerCase()] = value;
  }
  return out;
}
