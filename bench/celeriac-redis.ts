// celeriac over BullMQ on the run's redis-server (the same server as the BullMQ row).
import { runCeleriacOnBroker } from './celeriac-broker.js';

runCeleriacOnBroker('celeriac-redis', (ctx) => {
  const r = ctx.params.redis;
  if (!r) throw new Error('no redis-server in the params');
  return `redis://${r.host}:${r.port}`;
});
