/** Runs `work` over `items` in order with at most `concurrency` calls in flight. */
export async function forEachLimited<T>(
  items: Iterable<T>,
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  const lanes = Array.from({ length: Math.max(1, concurrency) }, async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await work(next.value);
  });
  await Promise.all(lanes);
}

/**
 * Waits before attempt `attempt + 1` of a write that lost a race: exponential back-off with full jitter, so
 * writers that collided do not collide again in step.
 */
export function conflictBackoff(attempt: number, baseMs = 10): Promise<void> {
  const ms = Math.random() * baseMs * 2 ** Math.min(attempt, 6);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` (which re-reads what it changes) again when it lost a race to another writer, up to `tries`
 * times with jittered back-off; any other error, or the last conflict, is thrown.
 */
export async function retryOnConflict<T>(
  isConflict: (error: unknown) => boolean,
  attempt: () => Promise<T>,
  tries = 5,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isConflict(error) || n >= tries) throw error;
      await conflictBackoff(n);
    }
  }
}
