// The seed's walk-through, in TypeScript: a task registered under a dotted name, and
// one that fails transiently and succeeds after retry({ countdown }).
import { context, task } from 'celeriac';

export const echo = task('demo.echo', (message: string) => {
  console.log(`[worker] ${message}`);
  return message;
});

/** Fails the first `failures` times as a flaky network call would, then succeeds. */
export const flaky = task('demo.flaky', { maxRetries: 10 }, (message: string, failures: number) => {
  const { attempt, retries } = context();
  try {
    if (retries < failures) throw new Error('connection reset by peer');
    console.log(`[worker] attempt ${attempt}: ${message}`);
    return `${message} (after ${retries} ${retries === 1 ? 'retry' : 'retries'})`;
  } catch (err) {
    console.log(`[worker] attempt ${attempt}: ${(err as Error).message} → retry in 1 s`);
    // The seed's echo.retry(args=..., exc=e, countdown=60, max_retries=10), with a short countdown for the demo.
    throw flaky.retry({ exc: err, countdown: 1, maxRetries: 10 });
  }
});
