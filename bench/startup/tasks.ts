// The start-up task module in TypeScript, as a user writes it (loaded without a build step).
import { task } from '../../dist/index.js';

interface Payload {
  id: number;
}

export const noop = task('startup.noop', (p: Payload): number => p.id);
