// Exiting without losing output. Writes to a pipe are asynchronous once the pipe's
// buffer is full: process.exit right after a large write drops what is still queued.

/** Resolves once everything written to `stream` so far has been handed to the OS (or cannot be: the reader is gone). */
export function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || !stream.writable) return Promise.resolve();
  return new Promise((resolve) => {
    // A reader that went away (EPIPE) is not our failure: there is nobody left to tell.
    const onError = () => resolve();
    stream.once('error', onError);
    stream.write('', () => {
      stream.off('error', onError);
      resolve();
    });
  });
}

/** process.exit(code) once stdout and stderr are flushed; no stray handle can keep a finished command alive. */
export async function exitWhenFlushed(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
