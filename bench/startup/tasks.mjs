// The start-up task module, plain JavaScript.
import { task } from '../../dist/index.js';

export const noop = task('startup.noop', (p) => p.id);
