// The process the schedule kill loop kills: it embeds celeriac on <dir> with the
// every-second schedule and runs until SIGKILLed (SIGTERM: a warm close, exit 0).
//   node --import tsx test/torture/schedule-child.ts <dir>
import { fileURLToPath } from 'node:url';
import { createCeleriac } from '../../src/index.js';

const dir = process.argv[2]!;
const tasks = fileURLToPath(new URL('../fixtures/schedules/kill/tasks.ts', import.meta.url));
const app = await createCeleriac({ dir, tasks: [tasks], start: true, concurrency: 1, logger: false });
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
