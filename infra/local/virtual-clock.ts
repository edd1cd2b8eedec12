import type { Clock } from "../../functions/ports.ts";

/** Real epoch milliseconds with sub-millisecond resolution, the same in every thread. */
export const realEpochMs = () => performance.timeOrigin + performance.now();

/**
 * The embedded stack's business clock. Its state lives in shared memory — [instant, real time at that
 * instant, frozen] — so the workflow engine and the Lambda sandboxes, each in a thread of its own, read the
 * same time synchronously (`sharedNow`). Frozen: time moves only when advanced. Running: it moves at real
 * speed from its starting instant (and can still be advanced).
 */
export class VirtualClock implements Clock {
  readonly shared = new Float64Array(new SharedArrayBuffer(24));

  constructor(start: Date, frozen: boolean) {
    this.shared[0] = start.getTime();
    this.shared[1] = realEpochMs();
    this.shared[2] = frozen ? 1 : 0;
  }

  get frozen(): boolean {
    return this.shared[2] === 1;
  }

  nowMs(): number {
    return sharedNow(this.shared);
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** Moves the clock to `instantMs`; it never goes backwards. */
  set(instantMs: number): void {
    if (instantMs < this.nowMs()) return;
    this.shared[0] = instantMs;
    this.shared[1] = realEpochMs();
  }
}

/** The current virtual instant from a clock's shared state (any thread). */
export function sharedNow(shared: Float64Array): number {
  const instant = shared[0] as number;
  return shared[2] === 1 ? instant : instant + (realEpochMs() - (shared[1] as number));
}
