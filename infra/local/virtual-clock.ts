import type { Clock } from "../../functions/ports.ts";

/**
 * The embedded stack's business clock. Its current instant lives in shared memory so the workflow engine's
 * worker thread reads the same time synchronously. Frozen: time moves only when advanced. Running: it
 * moves at real speed from its starting instant (and can still be advanced).
 */
export class VirtualClock implements Clock {
  readonly shared = new Float64Array(new SharedArrayBuffer(8));
  private realAnchor = performance.now();

  constructor(
    start: Date,
    readonly frozen: boolean,
  ) {
    this.shared[0] = start.getTime();
  }

  nowMs(): number {
    const base = this.shared[0] as number;
    return this.frozen ? base : base + (performance.now() - this.realAnchor);
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** Moves the clock to `instantMs`; it never goes backwards. */
  set(instantMs: number): void {
    if (instantMs < this.nowMs()) return;
    this.shared[0] = instantMs;
    this.realAnchor = performance.now();
  }

  /** For a running clock: fold real elapsed time into the shared value the engine reads. */
  sync(): void {
    this.set(this.nowMs());
  }
}
