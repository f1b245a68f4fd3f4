// The plugin's declaration, CKAN's `task_imports()`: the task modules celeriac loads
// (in its worker threads) when an app's config lists "celeriac-example-webhooks" in
// `plugins`. Paths are relative to this file. package.json points here:
// "celeriac": { "taskImports": "./celeriac.ts" }.
export function taskImports(): string[] {
  return ['./tasks.ts'];
}
