// One bare thread running W3's CPU job back to back, with no queue and no message per
// job (limits.ts): what two threads can do on this machine, the ceiling of W3's efficiency.
import { parentPort } from 'node:worker_threads';
import { cpuWork } from './params.js';

parentPort!.on('message', (jobs: number) => {
  for (let i = 0; i < jobs; i++) cpuWork();
  parentPort!.postMessage('done');
});
parentPort!.postMessage('ready');
