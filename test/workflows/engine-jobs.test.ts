import { afterEach, describe, expect, it } from "vitest";
import { LocalWorkflowEngine, type ScheduledJob } from "../../infra/local/engine.ts";
import { VirtualClock } from "../../infra/local/virtual-clock.ts";

/** Jobs beside the workflow on the local engine: several of them, in time order with the timers, up to the target. */
const T0 = Date.parse("2026-01-05T00:00:00Z");
const MARK = "arn:aws:lambda:us-east-1:000000000000:function:mark";
const definition = (waitSeconds: number) => ({
  StartAt: "Wait",
  States: {
    Wait: { Type: "Wait", Seconds: waitSeconds, Next: "Mark" },
    Mark: { Type: "Task", Resource: MARK, End: true },
  },
});

let engine: LocalWorkflowEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** A job due at the given instants, recording the instants it ran at. */
function atInstants(name: string, instants: number[], log: string[]): ScheduledJob {
  const left = [...instants];
  return {
    nextAt: async (nowMs) => (left[0] === undefined ? null : Math.max(nowMs, left[0])),
    run: async (nowMs) => {
      left.shift();
      log.push(`${name}@${(nowMs - T0) / 1000}`);
    },
  };
}

/** A job with work whenever `pending` is set, as the webhook dispatcher after a function wrote the trail. */
function onDemand(log: string[]) {
  const state = { pending: false };
  const job: ScheduledJob = {
    nextAt: async (nowMs) => (state.pending ? nowMs : null),
    run: async (nowMs) => {
      state.pending = false;
      log.push(`demand@${(nowMs - T0) / 1000}`);
    },
  };
  return { state, job };
}

describe("the local engine's scheduled jobs", () => {
  it("runs several jobs at their instants, those due together in the order they were scheduled", async () => {
    const clock = new VirtualClock(new Date(T0), true);
    const log: string[] = [];
    engine = new LocalWorkflowEngine(definition(60), { [MARK]: async () => log.push("mark") }, clock);
    engine.schedule(atInstants("a", [T0 + 30_000], log));
    engine.schedule(atInstants("b", [T0 + 30_000, T0 + 90_000], log));
    await engine.start("e1", {});
    await engine.advanceTo(T0 + 120_000);
    expect(log).toEqual(["a@30", "b@30", "mark", "b@90"]);
    expect(engine.execution("e1")?.status).toBe("SUCCEEDED");
  });

  it("runs what the steps due at the target itself set off before the advance returns", async () => {
    const clock = new VirtualClock(new Date(T0), true);
    const log: string[] = [];
    const demand = onDemand(log);
    const mark = async () => {
      log.push("mark");
      demand.state.pending = true;
    };
    engine = new LocalWorkflowEngine(definition(60), { [MARK]: mark }, clock);
    engine.schedule(demand.job);
    await engine.start("e1", {});
    await engine.advanceTo(T0 + 60_000);
    expect(log).toEqual(["mark", "demand@60"]);

    // Started at the current instant: the advance to that very instant runs it and what it set off.
    const zeroWait = new LocalWorkflowEngine(definition(0), { [MARK]: mark }, clock);
    try {
      zeroWait.schedule(demand.job);
      await zeroWait.start("e3", {});
      await zeroWait.advanceTo(clock.nowMs());
      expect(log).toEqual(["mark", "demand@60", "mark", "demand@60"]);
    } finally {
      await zeroWait.close();
    }
  });
});
