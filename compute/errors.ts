/**
 * A problem with what the user (or a job) asked for — a malformed weights file, an empty prompt,
 * an out-of-range token id — as opposed to a bug. The message is meant to be shown as is:
 * the CLI prints it without a stack trace and the job layer stores it as the job's error.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}
