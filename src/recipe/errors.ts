// Recipe errors as data first: each issue has a code, the dotted path it blames, and where that
// value was written (file:line:col, or the --set flag that wrote it). RecipeError carries all
// issues of one load and prints them one line each; the CLI exits 2 without a stack trace.
import { UserError } from '../errors.js';

export type RecipeIssueCode =
  | 'yaml_syntax'
  | 'yaml_tag'
  | 'yaml_alias'
  | 'forbidden_key'
  | 'too_large'
  | 'unknown_key'
  | 'wrong_type'
  | 'out_of_range'
  | 'bad_value'
  | 'missing_key'
  | 'one_of'
  | 'bad_version'
  | 'missing_file'
  | 'extends_cycle'
  | 'bad_set'
  // cross-field checks (checks.ts)
  | 'heads_divide_hidden'
  | 'micro_batch_divides_batch'
  | 'seq_len_exceeds_max_position'
  | 'replace_sum'
  | 'max_predictions_exceeds_seq_len'
  | 'phases_not_increasing'
  | 'phase_beyond_steps'
  | 'warmup_exceeds_steps'
  | 'graph_order'
  | 'nsp_needs_pooler'
  | 'classify_needs_pooler'
  | 'classify_with_pretraining'
  | 'classify_needs_labelled'
  | 'classify_with_phases'
  | 'classify_needs_vocab'
  | 'best_metric_for_problem'
  | 'labelled_without_classify'
  | 'epochs_without_classify'
  | 'vocab_too_small';

/** Where a value was written. `set` is the `--set a.b=c` text when a flag wrote it. */
export interface SourceLoc {
  /** Absolute path of the file, or '--set'. */
  file: string;
  line?: number;
  col?: number;
  set?: string;
}

export interface RecipeIssue {
  code: RecipeIssueCode;
  /** Dotted path such as `model.graph[1].layers[0].attention.heads`; '' for the whole file. */
  path: string;
  message: string;
  /** File as displayed (relative to the working directory when inside it), or '--set'. */
  file: string;
  line?: number;
  col?: number;
  /** The flag that wrote the value, as typed (`--set a.b=c`, `--steps 10`); file is then '--set'. */
  set?: string;
}

export function formatIssue(issue: RecipeIssue): string {
  const where = issue.set !== undefined ? issue.set : issue.line !== undefined ? `${issue.file}:${issue.line}:${issue.col ?? 1}` : issue.file;
  return `${where}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

export class RecipeError extends UserError {
  constructor(readonly issues: readonly RecipeIssue[]) {
    super(issues.map(formatIssue).join('\n'), 'bad_recipe', 2);
    this.name = 'RecipeError';
  }
}
