// celeriac over BullMQ on the run's PostgreSQL (the same server as the BullMQ-on-PostgreSQL row).
import { runCeleriacOnBroker } from './celeriac-broker.js';

runCeleriacOnBroker('celeriac-postgres', (ctx) => {
  const pg = ctx.params.postgres;
  if (!pg) throw new Error('no PostgreSQL in the params');
  return pg.connectionString;
});
