// The backend contract on BullMQ over PostgreSQL: one server for the file, a fresh queue per case.
import { after, test } from 'node:test';
import { startTestServer } from '../servers.js';
import { contractCases } from './cases.js';

const server = await startTestServer('postgres', after, (reason) => test('postgres server', (t) => t.skip(reason)));
let cases = 0;
contractCases('postgres', async () => (server ? { broker: server.url, queue: `contract${++cases}` } : undefined));
