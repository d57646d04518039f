/**
 * A problem with this machine's setup that a person fixes with one step (a folder the postgres user
 * cannot reach, a program to install). `npm start` prints its message alone, one line, never a
 * stack trace: the trace would point into our code while the fix is outside it.
 */
export class LocalSetupError extends Error {
  override readonly name = 'LocalSetupError';
}
