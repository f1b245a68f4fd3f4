import { task } from '../../../src/index.js';

export const noop = task('load.noop', (payload: { id: number }) => payload.id);
