// The plugin's declaration: the task modules celeriac loads in its worker threads when an
// app lists "celeriac-example-archive-flow" in `plugins`.
export function taskImports(): string[] {
  return ['./flow.ts'];
}
