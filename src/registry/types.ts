// What the host knows of the task modules without importing them: the manifest a worker
// thread reports once it has loaded them, the problems it met, and the plugins it loaded.

export interface TaskParams {
  /** Each parameter as written (whitespace collapsed), for messages: `myapp.hash(text, rounds)`. */
  list: string[];
  /** Arguments required: the parameters before the first one with a default or a rest parameter. */
  min: number;
  /** Arguments accepted at most; null when unbounded (a rest parameter, or `arguments` in the body). */
  max: number | null;
}
