// Where user code called one of this library's declaring functions (task(), schedule()):
// the file and line named in errors and in the manifest.

const FRAME = /\(?((?:file:\/\/|\/)[^()]*?):(\d+):\d+\)?\s*$/;

/** The file and line a stack frame points at, or undefined for a frame without one. */
export function frameFile(frame: string): { file: string; line: number } | undefined {
  const m = FRAME.exec(frame);
  if (!m) return undefined;
  const plain = m[1]!.split('?')[0]!;
  return { file: plain.startsWith('file://') ? decodeURIComponent(new URL(plain).pathname) : plain, line: Number(m[2]) };
}

/** How the module calling this appears in stack traces (source maps may show src/x.ts for dist/x.js). */
export function ownFile(): string | undefined {
  return frameFile(new Error().stack?.split('\n')[2] ?? '')?.file;
}

/** The first frame outside `skip` (this library's own declaring modules). */
export function callSite(skip: ReadonlySet<string | undefined>): { file: string; line: number } {
  for (const frame of new Error().stack?.split('\n').slice(1) ?? []) {
    const site = frameFile(frame);
    if (site && !skip.has(site.file) && site.file !== THIS_FILE) return site;
  }
  return { file: '<unknown>', line: 0 };
}

const THIS_FILE = frameFile(new Error().stack?.split('\n')[1] ?? '')?.file;
