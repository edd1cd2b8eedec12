import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AuditEntry,
  type AuditEvent,
  appendToChain,
  type ChainScope,
  canonicalJson,
  EMPTY_CHAIN,
  entryHash,
  GENESIS_HASH,
  verifyChain,
} from "../../functions/domain/audit-chain.ts";

const SCOPE: ChainScope = { tenantId: "tenant-1", loanId: "loan-1" };

const EVENTS: AuditEvent[] = [
  {
    type: "loan_subscribed",
    actor: "api:lender",
    data: { amountDue: { amount: "1000.00", currency: "CNY" } },
  },
  { type: "step_started", actor: "system:workflow", data: { step: "pre_due_7", channels: ["email"] } },
  { type: "message_sent", actor: "system:workflow", data: { channel: "email", providerMessageId: "m-1" } },
  { type: "payment_received", actor: "api:lender", data: { amount: { amount: "100.00", currency: "CNY" } } },
  { type: "step_started", actor: "system:workflow", data: { step: "pre_due_3", channels: ["sms"] } },
];

/** A chain built in three appends at different instants, as a repository would. */
function chain(events: AuditEvent[] = EVENTS): AuditEntry[] {
  const first = appendToChain(SCOPE, EMPTY_CHAIN, events.slice(0, 2), "2026-01-05T00:00:00Z");
  const second = appendToChain(SCOPE, first.head, events.slice(2, 4), "2026-01-08T02:00:00Z");
  const third = appendToChain(SCOPE, second.head, events.slice(4), "2026-01-12T02:00:00Z");
  return [...first.entries, ...second.entries, ...third.entries];
}

const clone = (entries: AuditEntry[]): AuditEntry[] => structuredClone(entries);

describe("appendToChain", () => {
  it("numbers entries 1..n and links each to its predecessor's hash from GENESIS_HASH", () => {
    const entries = chain();
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash);
    for (const entry of entries) expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(entries.map((e) => e.hash)).size).toBe(entries.length);
  });

  it("returns the head: last seq and hash", () => {
    const { entries, head } = appendToChain(SCOPE, EMPTY_CHAIN, EVENTS, "2026-01-05T00:00:00Z");
    expect(head).toEqual({ seq: 5, hash: entries[4]?.hash });
  });

  it("copies type, actor, data and the instant into each entry", () => {
    const { entries } = appendToChain(SCOPE, EMPTY_CHAIN, [EVENTS[0] as AuditEvent], "2026-01-05T00:00:00Z");
    expect(entries[0]).toMatchObject({ ...EVENTS[0], seq: 1, at: "2026-01-05T00:00:00Z" });
  });

  it("leaves the head unchanged when there are no events", () => {
    expect(appendToChain(SCOPE, { seq: 7, hash: "a".repeat(64) }, [], "2026-01-05T00:00:00Z")).toEqual({
      entries: [],
      head: { seq: 7, hash: "a".repeat(64) },
    });
  });

  it("is deterministic and bound to the scope (same events in another loan hash differently)", () => {
    const a = appendToChain(SCOPE, EMPTY_CHAIN, EVENTS, "2026-01-05T00:00:00Z");
    const b = appendToChain(SCOPE, EMPTY_CHAIN, EVENTS, "2026-01-05T00:00:00Z");
    const other = appendToChain({ ...SCOPE, loanId: "loan-2" }, EMPTY_CHAIN, EVENTS, "2026-01-05T00:00:00Z");
    expect(b.head).toEqual(a.head);
    expect(other.entries[0]?.hash).not.toBe(a.entries[0]?.hash);
    expect(verifyChain({ ...SCOPE, loanId: "loan-2" }, a.entries)).toMatchObject({ valid: false, seq: 1 });
  });
});

describe("verifyChain", () => {
  it("accepts an untouched chain and returns its head", () => {
    const entries = chain();
    expect(verifyChain(SCOPE, entries)).toEqual({ valid: true, head: { seq: 5, hash: entries[4]?.hash } });
  });

  it("accepts the empty chain with the empty head", () => {
    expect(verifyChain(SCOPE, [])).toEqual({ valid: true, head: EMPTY_CHAIN });
  });

  it("survives a round trip through JSON (as stored)", () => {
    expect(verifyChain(SCOPE, JSON.parse(JSON.stringify(chain())))).toMatchObject({ valid: true });
  });

  const alterations: [string, (entry: AuditEntry) => void][] = [
    ["data (nested value)", (e) => Object.assign(e.data, { tampered: true })],
    ["data (replaced)", (e) => (e.data = {})],
    ["type", (e) => (e.type = `${e.type}_x`)],
    ["at", (e) => (e.at = "2026-01-01T00:00:00Z")],
    ["actor", (e) => (e.actor = "someone:else")],
    ["hash", (e) => (e.hash = "f".repeat(64))],
  ];

  for (const [field, alter] of alterations) {
    it.each([1, 3, 5])(`detects an altered ${field} in entry %i`, (seq) => {
      const entries = clone(chain());
      alter(entries[seq - 1] as AuditEntry);
      expect(verifyChain(SCOPE, entries)).toMatchObject({ valid: false, seq });
    });
  }

  it("detects an altered nested money amount", () => {
    const entries = clone(chain());
    (entries[3]?.data.amount as { amount: string }).amount = "1.00";
    expect(verifyChain(SCOPE, entries)).toMatchObject({
      valid: false,
      seq: 4,
      reason: "hash does not match",
    });
  });

  it("detects an altered prevHash", () => {
    const entries = clone(chain());
    (entries[2] as AuditEntry).prevHash = GENESIS_HASH;
    expect(verifyChain(SCOPE, entries)).toMatchObject({
      valid: false,
      seq: 3,
      reason: "prevHash does not link",
    });
  });

  it("detects a renumbered entry", () => {
    const entries = clone(chain());
    (entries[1] as AuditEntry).seq = 3;
    expect(verifyChain(SCOPE, entries)).toMatchObject({ valid: false, seq: 3, reason: "expected seq 2" });
  });

  it("detects a dropped entry at the first entry after the gap", () => {
    const entries = chain();
    entries.splice(2, 1);
    expect(verifyChain(SCOPE, entries)).toMatchObject({ valid: false, seq: 4, reason: "expected seq 3" });
  });

  it("detects a dropped first entry", () => {
    expect(verifyChain(SCOPE, chain().slice(1))).toMatchObject({
      valid: false,
      seq: 2,
      reason: "expected seq 1",
    });
  });

  it("detects two swapped entries", () => {
    const entries = chain();
    const [a, b] = [entries[1] as AuditEntry, entries[2] as AuditEntry];
    entries[1] = b;
    entries[2] = a;
    expect(verifyChain(SCOPE, entries)).toMatchObject({ valid: false, seq: 3, reason: "expected seq 2" });
  });

  it("detects an inserted entry even when its seq and prevHash fit and its hash is recomputed", () => {
    const entries = chain();
    const previous = entries[1] as AuditEntry;
    const forged = appendToChain(
      SCOPE,
      { seq: previous.seq, hash: previous.hash },
      [
        {
          type: "payment_received",
          actor: "api:lender",
          data: { amount: { amount: "900.00", currency: "CNY" } },
        },
      ],
      previous.at,
    ).entries[0] as AuditEntry;
    entries.splice(2, 0, forged);
    // The forged entry itself is well formed; the original entry 3 after it no longer fits.
    expect(verifyChain(SCOPE, entries)).toMatchObject({ valid: false, seq: 3, reason: "expected seq 4" });
  });

  it("detects a copied (duplicated) entry", () => {
    const entries = chain();
    entries.splice(3, 0, entries[2] as AuditEntry);
    expect(verifyChain(SCOPE, entries)).toMatchObject({ valid: false, seq: 3, reason: "expected seq 4" });
  });

  it("returns a head that exposes a truncated tail when compared with the stored head", () => {
    // A chain cut after entry 3 still verifies on its own; the case's stored head is what catches it.
    const entries = chain();
    const verdict = verifyChain(SCOPE, entries.slice(0, 3));
    expect(verdict).toMatchObject({ valid: true, head: { seq: 3 } });
    expect(verdict.valid && verdict.head).not.toEqual({ seq: 5, hash: entries[4]?.hash });
  });

  it("rejects a chain that continues from a head other than the genesis", () => {
    const { entries } = appendToChain(SCOPE, { seq: 0, hash: "" }, EVENTS, "2026-01-05T00:00:00Z");
    expect(verifyChain(SCOPE, entries)).toMatchObject({
      valid: false,
      seq: 1,
      reason: "prevHash does not link",
    });
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every level and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it("is independent of key insertion order", () => {
    expect(canonicalJson({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalJson({ b: { d: 3, c: 2 }, a: 1 }));
  });

  it("leaves out undefined properties, as JSON does", () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it("escapes strings like JSON", () => {
    expect(canonicalJson({ 'k"': 'O\'Brien & "Co"\n' })).toBe('{"k\\"":"O\'Brien & \\"Co\\"\\n"}');
  });

  it("property: equals JSON.parse-compatible output and is independent of key order", () => {
    const json = fc.jsonValue();
    fc.assert(
      fc.property(json, (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(reverseKeys(value))).toBe(text);
      }),
    );
  });

  it("property: entryHash does not depend on the order of data keys", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (data) => {
        const entry = { seq: 1, at: "2026-01-05T00:00:00Z", type: "t", actor: "a", prevHash: GENESIS_HASH };
        expect(entryHash(SCOPE, { ...entry, data: reverseKeys(data) as Record<string, unknown> })).toBe(
          entryHash(SCOPE, { ...entry, data }),
        );
      }),
    );
  });
});

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const key of Object.keys(value).reverse()) {
      // defineProperty, so that a generated "__proto__" key stays an own property.
      Object.defineProperty(result, key, {
        value: reverseKeys((value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  return value;
}

describe("audit chain property: any single mutation is detected at the right seq", () => {
  const event: fc.Arbitrary<AuditEvent> = fc.record({
    type: fc.constantFrom(
      "loan_subscribed",
      "step_started",
      "step_skipped",
      "message_sent",
      "payment_received",
    ),
    actor: fc.constantFrom("api:lender", "system:workflow", "ops:alice"),
    data: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  });

  type Mutation =
    | { kind: "field"; field: "type" | "actor" | "at" | "data" | "hash" | "prevHash" }
    | { kind: "drop" }
    | { kind: "swap" }
    | { kind: "insert" };

  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({
      kind: fc.constant("field" as const),
      field: fc.constantFrom("type", "actor", "at", "data", "hash", "prevHash") as fc.Arbitrary<
        "type" | "actor" | "at" | "data" | "hash" | "prevHash"
      >,
    }),
    fc.constant({ kind: "drop" as const }),
    fc.constant({ kind: "swap" as const }),
    fc.constant({ kind: "insert" as const }),
  );

  it("valid before, invalid after, with the seq of the first entry that no longer fits", () => {
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 2, maxLength: 12 }),
        fc.nat(),
        mutation,
        event,
        (events, index, change, extra) => {
          const { entries } = appendToChain(SCOPE, EMPTY_CHAIN, events, "2026-01-05T00:00:00Z");
          expect(verifyChain(SCOPE, entries)).toMatchObject({ valid: true, head: { seq: events.length } });
          const mutated = clone(entries);
          const n = mutated.length;
          let expectedSeq: number;
          switch (change.kind) {
            case "field": {
              const i = index % n;
              const target = mutated[i] as AuditEntry;
              if (change.field === "data") target.data = { ...target.data, __tampered__: i };
              else if (change.field === "at") target.at = "1999-12-31T23:59:59Z";
              else if (change.field === "hash" || change.field === "prevHash")
                target[change.field] = "e".repeat(64);
              else target[change.field] = `${target[change.field]}!`;
              expectedSeq = i + 1;
              break;
            }
            case "drop": {
              // Dropping the last entry is a truncation, which only the stored head reveals.
              const i = index % (n - 1);
              mutated.splice(i, 1);
              expectedSeq = i + 2;
              break;
            }
            case "swap": {
              const i = index % (n - 1);
              [mutated[i], mutated[i + 1]] = [mutated[i + 1] as AuditEntry, mutated[i] as AuditEntry];
              expectedSeq = i + 2;
              break;
            }
            case "insert": {
              // A well-formed forged entry after entry i (i < n): the original entry i+1 no longer fits.
              const i = index % (n - 1);
              const before = mutated[i] as AuditEntry;
              const forged = appendToChain(SCOPE, { seq: before.seq, hash: before.hash }, [extra], before.at)
                .entries[0] as AuditEntry;
              mutated.splice(i + 1, 0, forged);
              expectedSeq = i + 2;
              break;
            }
          }
          expect(verifyChain(SCOPE, mutated)).toMatchObject({ valid: false, seq: expectedSeq });
        },
      ),
      { numRuns: 500 },
    );
  });
});
