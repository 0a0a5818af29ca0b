// User-facing errors: one line, no stack trace. Anything thrown as a UserError is printed by the
// CLI as `bert-run: <message>` and exits with its code (2 for bad recipes/flags, 1 otherwise).
// Everything else is a bug and keeps its stack.

export type UserErrorCode = string;

export class UserError extends Error {
  constructor(
    message: string,
    readonly code: UserErrorCode = 'user_error',
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
