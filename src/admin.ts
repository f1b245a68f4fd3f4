// `celeriac/admin`: the functions that work on a data dir itself rather than through an
// app or a client (reading every record, repairing a damaged journal). Apart from the
// main entry because task modules import that one in every worker thread, and because
// these are for operators' scripts, not for sending and running jobs.
export { readJobs } from './read-jobs.js';
export { repairDataDir, type RepairReport } from './store/repair.js';
export type { JobRecordText as JobRecord } from './jobs.js';
