// Bounds on settings that the machine, not celeriac, would otherwise enforce with a crash.

/** Worker threads one app may start: each is a V8 isolate with its own heap and stack. */
export const MAX_CONCURRENCY = 256;
