// Bounded concurrency, two ways: `runAll` runs every job even after one failed (a restore must
// reach every container), `parallel` stops at the first failure and aborts the others (a pull).
// Either throws the first failure once every job in flight has settled.

/** Runs the jobs, at most `concurrency` at once; every job runs. */
export async function runAll(jobs: readonly (() => Promise<unknown>)[], concurrency: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker));
  if (failure) throw failure.error;
}

/** Runs `fn` over the items, `limit` at a time; the first failure cancels the rest. */
export async function parallel<T>(items: T[], limit: number, signal: AbortSignal | undefined, fn: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  const ac = new AbortController();
  const s = signal ? AbortSignal.any([signal, ac.signal]) : ac.signal;
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++]!;
      try {
        await fn(item, s);
      } catch (e) {
        if (failure === undefined) { failure = e; ac.abort(e); }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}
