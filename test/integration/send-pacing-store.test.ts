import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../functions/adapters/dynamo/schema.ts";
import { DynamoSendPacingStore } from "../../functions/adapters/dynamo/send-pacing-store.ts";
import { minuteOf, PACING_RETENTION_SECONDS } from "../../functions/domain/send-pacing.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";

/**
 * The places of paced sending on DynamoDB Local: many senders reserving at once (as many Lambdas would) never
 * put more than `rate` messages in one second, nor share a place, nor go past the end they were given.
 */

let db: FreshTables;
let store: DynamoSendPacingStore;
/** 2026-01-12T02:00:00Z, a minute's first second. */
const S = Date.parse("2026-01-12T02:00:00Z") / 1000;

beforeAll(async () => {
  db = await freshTables();
  store = new DynamoSendPacingStore(db.client, db);
});

/** Concurrent senders on DynamoDB Local's few connections: 16 at a time, `count` in all. */
const SENDERS = 16;

/** `count` reservations, 16 at once, `rate` a second, from `from` until `until`; the seconds given, in order. */
async function reserveAtOnce(tenantId: string, count: number, rate: number, from: number, until: number) {
  const seconds: (number | null)[] = [];
  let left = count;
  const sender = async () => {
    while (left-- > 0) {
      seconds.push(
        await store.reserve({ tenantId, channel: "sms", rate, fromSecond: from, untilSecond: until }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(SENDERS, count) }, sender));
  return seconds.sort((a, b) => (a ?? Number.POSITIVE_INFINITY) - (b ?? Number.POSITIVE_INFINITY));
}

function perSecond(seconds: (number | null)[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const second of seconds) if (second !== null) counts.set(second, (counts.get(second) ?? 0) + 1);
  return counts;
}

const item = async (key: Record<string, string>) =>
  (await db.client.send(new GetCommand({ TableName: db.stateTable, Key: key, ConsistentRead: true }))).Item;

describe("paced sending places (DynamoDB Local)", () => {
  it("gives 200 places to 16 concurrent senders at 3 a second 3 places in each second, packed from the first, none twice", async () => {
    const seconds = await reserveAtOnce("t-burst", 200, 3, S, S + 3600);
    const counts = perSecond(seconds);
    expect(seconds.every((second) => second !== null && second >= S)).toBe(true);
    expect(Math.max(...counts.values())).toBe(3);
    // 200 places from a minute's start: seconds S … S+66 full, the last with two; no second left empty.
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 67 }, (_, i) => S + i));
    // The first minute filled: the hint names the second, so later senders start there.
    expect((await item(keys.paceHint("t-burst", "sms")))?.minute).toBe(minuteOf(S) + 1);
    const counter = await item(keys.paceMinute("t-burst", "sms", minuteOf(S)));
    expect(counter).toMatchObject({
      n: 180,
      rate: 3,
      expiresAt: minuteOf(S) * 60 + PACING_RETENTION_SECONDS,
    });
  });

  it("stops at the end it is given: 2 a second until 30 s in is 60 places, then none", async () => {
    const seconds = await reserveAtOnce("t-window", 75, 2, S, S + 30);
    expect(seconds.filter((second) => second === null)).toHaveLength(15);
    const counts = perSecond(seconds);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 2)).toBe(true);
    expect(Math.max(...counts.keys())).toBe(S + 29);
  });

  it("never gives a second gone by: in the minute under way, places start at the current second", async () => {
    const early = await reserveAtOnce("t-late", 3, 2, S, S + 3600);
    expect(early).toEqual([S, S, S + 1]);
    const late = await reserveAtOnce("t-late", 5, 2, S + 40, S + 3600);
    expect(perSecond(late)).toEqual(
      new Map([
        [S + 40, 2],
        [S + 41, 2],
        [S + 42, 1],
      ]),
    );
  });

  it("keeps tenants and channels apart, and a minute at the rate it began with", async () => {
    const [sms] = await reserveAtOnce("t-apart", 1, 1, S, S + 3600);
    const email = await store.reserve({
      tenantId: "t-apart",
      channel: "email",
      rate: 1,
      fromSecond: S,
      untilSecond: S + 3600,
    });
    const [other] = await reserveAtOnce("t-apart-2", 1, 1, S, S + 3600);
    expect([sms, email, other]).toEqual([S, S, S]);
    // The rate changed to 5: the minute begun at 1 a second is full for it, the next minute starts afresh.
    const [faster] = await reserveAtOnce("t-apart", 1, 5, S, S + 3600);
    expect(faster).toBe(S + 60);
  });
});
