// User-facing errors, the one error type outside recipes (RecipeError extends it): data first — a
// code, the message (naming the file, and the line where there is one), an optional hint saying
// what to do — printed by the CLI as one line, `bert-run: <message> (hint: <hint>)`, exiting with
// its code (2 for bad recipes/flags, 1 otherwise). Everything else is a bug and keeps its stack.

export type UserErrorCode = string;

export class UserError extends Error {
  constructor(
    message: string,
    readonly code: UserErrorCode = 'user_error',
    readonly exitCode: number = 1,
    /** What the user can do about it, when there is something to say. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }

  /** The line the CLI prints (without the program name). */
  get line(): string {
    return this.hint ? `${this.message} (hint: ${this.hint})` : this.message;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
