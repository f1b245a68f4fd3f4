// Compiled (never run) by test/types.test.ts: every @ts-expect-error must be an error,
// every other line must compile. If typed sends stop checking arguments, tsc fails.
import {
  task,
  type Celeriac,
  type CeleriacClient,
  type JobHandle,
  type JobInfo,
  type JobState,
  type TaskArgs,
  type TaskResult,
} from '../../src/index.js';

export const echo = task('types.echo', (message: string, times: number) => message.repeat(times));
export const fetchSize = task('types.size', async (url: string) => ({ url, bytes: url.length }));

declare const app: Celeriac;
declare const client: CeleriacClient;

export async function usage(): Promise<void> {
  const h = await app.send(echo, ['hi', 2]);
  const text: string = await h.result();
  const h2 = await echo.send(app, ['hi', 3], { countdown: 5 });
  const size: { url: string; bytes: number } = await (await fetchSize.send(app, ['x'])).result();
  const byName = await app.send<string>('types.echo', ['untyped', 1]);
  const alsoText: string = await byName.result();
  const many = await app.sendMany(echo, [
    ['a', 1],
    ['b', 2],
  ]);
  const manyWithIds = await app.sendMany(echo, [['a', 1], { args: ['b', 2], id: 'b', countdown: 5 }], { priority: 1 });
  const manyTexts: string[] = await Promise.all(manyWithIds.map((m) => m.result()));
  const manyByName = await app.sendMany<number>('types.size', [['x'], { args: ['y'], id: 'y' }]);
  const firstNumber: number = await manyByName[0]!.result();
  const noArgs = await app.send('types.echo');
  const unknownResult: unknown = await noArgs.result();
  const args: TaskArgs<typeof echo> = ['x', 1];
  const result: TaskResult<typeof fetchSize> = { url: 'u', bytes: 1 };
  void [text, h2, size, alsoText, many, args, result, manyTexts, firstNumber, unknownResult];

  // @ts-expect-error the second argument must be a number
  await app.send(echo, ['hi', 'two']);
  // @ts-expect-error an argument is missing
  await echo.send(app, ['hi']);
  // @ts-expect-error the result is a string, not a number
  const wrong: number = await (await app.send(echo, ['a', 1])).result();
  // @ts-expect-error retry args are checked too
  echo.retry({ args: [1, 2] });
  // @ts-expect-error unknown send option
  await app.send(echo, ['a', 1], { delay: 5 });
  void wrong;

  // Reads are asynchronous: get(), counts(), job() and info() give Promises.
  const info: JobInfo | undefined = await app.get('some-id');
  const counts: Record<JobState, number> = await app.counts();
  const known: JobHandle | undefined = await app.job('some-id');
  const infoOfHandle: JobInfo | undefined = await h2.info();
  void [info, counts, known, infoOfHandle];
  // @ts-expect-error get() gives a Promise, not the info
  const notAwaited: JobInfo | undefined = app.get('some-id');
  // @ts-expect-error counts() gives a Promise
  void app.counts().pending;
  // @ts-expect-error info() gives a Promise
  void h2.info()?.state;
  void notAwaited;
  // The two-process client is typed the same way, and its handle's info() is asked of the worker.
  const ch = await client.send(echo, ['hi', 2]);
  const clientText: string = await ch.result();
  const clientInfo: JobInfo | undefined = await ch.info();
  const clientMany: string[] = await Promise.all((await client.sendMany(echo, [['a', 1]])).map((m) => m.result()));
  const clientByName: number = await (await client.send<number>('types.size', ['x'])).result();
  void [clientText, clientInfo, clientMany, clientByName];
  // @ts-expect-error a client send checks the arguments too
  await client.send(echo, ['hi', 'two']);
  // @ts-expect-error and the result type
  const clientWrong: number = await (await client.send(echo, ['a', 1])).result();
  void clientWrong;

  // The client's handles are the app's JobHandle itself, not a look-alike: code written for
  // one takes the other, and the types are identical.
  const waitFor = (handle: JobHandle<string>): Promise<string> => handle.result();
  await waitFor(await client.send(echo, ['hi', 2]));
  await waitFor(client.job<string>('some-id'));
  const sameSend: Same<Awaited<ReturnType<typeof client.send<string>>>, JobHandle<string>> = true;
  const sameMany: Same<Awaited<ReturnType<typeof client.sendMany<string>>>, JobHandle<string>[]> = true;
  const sameJob: Same<ReturnType<typeof client.job<string>>, JobHandle<string>> = true;
  const sameInfo: Same<Awaited<ReturnType<typeof client.get>>, Awaited<ReturnType<typeof app.get>>> = true;
  const samePage: Same<Awaited<ReturnType<typeof client.list>>, Awaited<ReturnType<typeof app.list>>> = true;
  void [sameSend, sameMany, sameJob, sameInfo, samePage];
}

/** true only when A and B are the same type (not merely assignable to each other). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
