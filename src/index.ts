export { createCeleriac, Celeriac, type CeleriacOptions, type Logger, type StructuredLogger } from './app.js';
export { task, RetryRequest, isTaskDefinition, type TaskDefinition, type TaskOptions, type RetryOptions, type ErrorMatcher, type TaskArgs, type TaskResult, type TaskSender, DEFAULT_MAX_RETRIES, DEFAULT_RETRY_DELAY_MS } from './task.js';
export { context, type TaskContext } from './context.js';
export { CeleriacError, TaskFailedError, type CeleriacErrorCode, type SerializedError } from './errors.js';
export { JOB_STATES, type JobState } from './jobs.js';
export type { JobHandle, JobInfo, SendOptions, SendManyItem, ResultOptions } from './send-types.js';
export type { RecoveryReport } from './store/types.js';
export type { JobPage, ListOptions } from './job-query.js';
export { EVENT_TYPES, type CeleriacEvent, type CeleriacEventType, type CeleriacEventListener } from './events.js';
export type { TaskManifestEntry } from './pool/protocol.js';
// defineConfig: celeriac.config.ts imports it from 'celeriac' (the README's example); it was
// only in config.ts, so `import { defineConfig } from 'celeriac'` failed.
export { defineConfig, type CeleriacConfig } from './config.js';
export { createClient, CeleriacClient, readJobs, type ClientJobHandle, type ClientOptions, type SubmittedJob } from './client.js';
export { repairDataDir, type RepairReport } from './store/repair.js';
