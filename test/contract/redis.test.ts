// The backend contract on BullMQ over Redis: one server for the file, a fresh queue per case.
import { after, test } from 'node:test';
import { startTestServer } from '../servers.js';
import { contractCases } from './cases.js';

const server = await startTestServer('redis', after, (reason) => test('redis server', (t) => t.skip(reason)));
let cases = 0;
contractCases('redis', async () => (server ? { broker: server.url, queue: `contract${++cases}` } : undefined));
