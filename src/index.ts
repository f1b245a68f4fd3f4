// The host's machinery loads on first use (entry-lazy.ts): worker threads import this
// entry through every task module. Celeriac and CeleriacClient are exported as types.
export { createCeleriac, createClient } from './entry-lazy.js';
export type { Celeriac, CeleriacOptions, Logger, StructuredLogger } from './app.js';
export {
  task,
  RetryRequest,
  isTaskDefinition,
  type TaskDefinition,
  type TaskOptions,
  type RetryOptions,
  type ErrorMatcher,
  type TaskArgs,
  type TaskResult,
  type TaskSender,
  DEFAULT_MAX_RETRIES,
  DEFAULT_RETRY_DELAY_MS,
} from './task.js';
export { context, type TaskContext, type ScheduleContext, type ProgressValue } from './context.js';
export { CeleriacError, TaskFailedError, type CeleriacErrorCode, type SerializedError } from './errors.js';
export { JOB_STATES, type JobState } from './jobs.js';
export type { JobHandle, JobInfo, SendOptions, SendManyItem, ResultOptions } from './send-types.js';
export type { RecoveryReport } from './store/types.js';
export type { JobPage, ListOptions } from './job-query.js';
export { EVENT_TYPES, type CeleriacEvent, type CeleriacEventType, type CeleriacEventListener } from './events.js';
export type { TaskManifestEntry } from './registry/types.js';
// defineConfig: celeriac.config.ts imports it from 'celeriac' (the README's example); it was
// only in config.ts, so `import { defineConfig } from 'celeriac'` failed.
export { defineConfig, type CeleriacConfig } from './define-config.js';
export type { CeleriacClient, ClientOptions } from './client.js';
export { schedule } from './schedule/define.js';
export type { ScheduleOptions, ScheduleInfo, MissedRuns } from './schedule/types.js';
export type { DashboardHandler, DashboardOptions, DashboardSource, WorkersInfo } from './dashboard/types.js';
export { chain, chord, group, signature, type Chain, type Chord, type Group, type Signature, type Workflow } from './workflows/canvas.js';
export type { WorkflowHandle, WorkflowSendOptions } from './workflows/engine.js';
