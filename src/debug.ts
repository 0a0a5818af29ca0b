// The one debug dial: BERT_DEBUG=graph,plan,wgsl (or `all`) prints the op graph, the kernel
// plan's steps and every specialized WGSL module to stderr as they are built. Per-dispatch GPU
// timings are `bert-run --profile`; kernel-by-kernel CPU checks are BERT_VALIDATE=1.

export type DebugTopic = 'graph' | 'plan' | 'wgsl';

export function debugEnabled(topic: DebugTopic): boolean {
  const value = process.env.BERT_DEBUG;
  if (!value) return false;
  const topics = value.split(',').map((t) => t.trim());
  return topics.includes(topic) || topics.includes('all') || topics.includes('1');
}

export function debugLog(topic: DebugTopic, text: string): void {
  if (debugEnabled(topic)) process.stderr.write(`[BERT_DEBUG ${topic}] ${text}\n`);
}
