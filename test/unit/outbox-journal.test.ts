import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OUTBOX_JOURNAL, Outbox } from "../../infra/local/outbox.ts";

// The outbox stands in for a provider, which does not forget a message when our side crashes: with a journal, a
// restarted stack still lists what was sent and still has the deliveries it never reported.
const dir = mkdtempSync(join(tmpdir(), "outbox-journal-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const clock = { now: () => new Date("2026-01-08T02:00:00Z") };
const message = (loanId: string) => ({
  tenantId: "demo",
  loanId,
  step: "pre_due_7",
  stage: "pre_due" as const,
  channel: "email" as const,
  locale: "en-US" as const,
  to: "li.wei@example.com",
  subject: "Reminder",
  body: "Due soon.",
});

describe("the outbox journal", () => {
  it("keeps sent messages and unreported deliveries across a restart, with ids unique across runs", async () => {
    const journal = join(dir, OUTBOX_JOURNAL);
    const before = new Outbox(clock, journal);
    const a = await before.send(message("A"));
    await before.send(message("B"));
    const [reported] = before.takeUnreported("demo", "A");
    if (!reported) throw new Error("expected A's message");
    before.markReported(reported);

    const after = new Outbox(clock, journal);
    expect(after.list().map((m) => m.loanId)).toEqual(["A", "B"]);
    expect(after.takeAllUnreported().map((m) => m.loanId)).toEqual(["B"]);
    const c = await after.send(message("C"));
    expect(c.providerMessageId).not.toBe(a.providerMessageId);
    expect(new Set(after.list().map((m) => m.id)).size).toBe(3);
  });

  it("keeps nothing on disk without a journal", async () => {
    const outbox = new Outbox(clock);
    await outbox.send(message("X"));
    expect(new Outbox(clock).list()).toEqual([]);
  });
});
