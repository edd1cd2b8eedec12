import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { LocalQueue, type ReceivedMessage } from "../../infra/local/local-queue.ts";

const T0 = Date.parse("2026-01-05T00:00:00Z");
const VISIBILITY_MS = 60_000;

function queue(deadLetters: ReceivedMessage[] = []) {
  return new LocalQueue("test-queue", {
    visibilityTimeoutMs: VISIBILITY_MS,
    maxReceives: 5,
    onDeadLetter: (message) => deadLetters.push(message),
  });
}

describe("LocalQueue", () => {
  it("answers the body's hex MD5 and names its ARN after the queue", () => {
    const q = queue();
    const sent = q.send('{"a":1}', 0, T0);
    expect(sent.md5OfBody).toBe(createHash("md5").update('{"a":1}').digest("hex"));
    expect(q.arn).toBe("arn:aws:sqs:us-east-1:000000000000:test-queue");
  });

  it("keeps a delayed message hidden until its delay has passed on the virtual clock", () => {
    const q = queue();
    q.send("later", 30, T0);
    q.send("now", 0, T0);
    expect(q.nextVisibleAt()).toBe(T0);
    expect(q.due(T0).map((m) => m.body)).toEqual(["now"]);
    expect(q.due(T0 + 29_999)).toEqual([]);
    const [later] = q.due(T0 + 30_000);
    expect(later).toMatchObject({
      body: "later",
      receiveCount: 1,
      sentAtMs: T0,
      firstReceivedAtMs: T0 + 30_000,
    });
  });

  it("refuses a delay SQS refuses", () => {
    const q = queue();
    expect(() => q.send("x", 901, T0)).toThrow(RangeError);
    expect(() => q.send("x", -1, T0)).toThrow(RangeError);
    expect(() => q.send("x", 1.5, T0)).toThrow(RangeError);
    expect(q.size).toBe(0);
  });

  it("ends a deleted message, and takes at most as many as asked, oldest first", () => {
    const q = queue();
    for (const body of ["a", "b", "c"]) q.send(body, 0, T0);
    const first = q.due(T0, 2);
    expect(first.map((m) => m.body)).toEqual(["a", "b"]);
    for (const message of first) expect(q.delete(message.receiptHandle)).toBe(true);
    expect(q.due(T0).map((m) => m.body)).toEqual(["c"]);
    expect(q.size).toBe(1);
    expect(q.delete("no-such-handle")).toBe(false);
  });

  it("hides a received message for the visibility timeout, then gives it again with a new handle", () => {
    const q = queue();
    q.send("x", 0, T0);
    const [first] = q.due(T0);
    expect(q.due(T0)).toEqual([]);
    expect(q.nextVisibleAt()).toBe(T0 + VISIBILITY_MS);
    q.fail(first?.receiptHandle ?? "");
    expect(q.due(T0 + VISIBILITY_MS - 1)).toEqual([]);
    const [second] = q.due(T0 + VISIBILITY_MS);
    expect(second).toMatchObject({ body: "x", receiveCount: 2, firstReceivedAtMs: T0 });
    expect(second?.receiptHandle).not.toBe(first?.receiptHandle);
    // The first receive's handle no longer deletes it.
    expect(q.delete(first?.receiptHandle ?? "")).toBe(false);
    expect(q.delete(second?.receiptHandle ?? "")).toBe(true);
  });

  it("moves a message that failed on its fifth receive to the dead-letter list", () => {
    const deadLetters: ReceivedMessage[] = [];
    const q = queue(deadLetters);
    q.send("poison", 0, T0);
    let now = T0;
    for (let receive = 1; receive <= 5; receive++) {
      const [message] = q.due(now);
      expect(message?.receiveCount).toBe(receive);
      q.fail(message?.receiptHandle ?? "");
      now += VISIBILITY_MS;
    }
    expect(q.size).toBe(0);
    expect(q.nextVisibleAt()).toBeNull();
    expect(deadLetters.map((m) => [m.body, m.receiveCount])).toEqual([["poison", 5]]);
    expect(q.deadLetters).toEqual(deadLetters);
  });

  it("dead-letters a message whose fifth receive never ended once it would be received again", () => {
    const q = queue();
    q.send("lost", 0, T0);
    for (let receive = 0; receive < 5; receive++) q.due(T0 + receive * VISIBILITY_MS);
    expect(q.due(T0 + 5 * VISIBILITY_MS)).toEqual([]);
    expect(q.deadLetters.map((m) => m.body)).toEqual(["lost"]);
  });
});
