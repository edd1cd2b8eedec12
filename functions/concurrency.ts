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
