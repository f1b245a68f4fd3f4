/** A command line the CLI cannot run: exit code 2, with a pointer to --help. */
export class UsageError extends Error {}
