import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { appendToChain, EMPTY_CHAIN, GENESIS_HASH } from "../../functions/domain/audit-chain.ts";
import type { ExportFormat } from "../../functions/domain/audit-export.ts";
import { manifestJson } from "../../functions/formats/audit-export-files.ts";
import type { ExportProblem } from "../../functions/formats/export-verify/problems.ts";
import { verifyExport } from "../../functions/formats/export-verify/verify-export.ts";
import type { AuditRange, AuditReader, ScopedAuditEntry } from "../../functions/ports/audit.ts";
import { exportAudit } from "../../functions/usecases/audit-export.ts";

/** Three loans' chains interleaved in time; loan B's first entries fall before the range. */
function trail(): ScopedAuditEntry[] {
  const all: ScopedAuditEntry[] = [];
  const start = Date.parse("2026-01-05T00:00:00Z");
  for (const [index, loanId] of ["L-A", "L-B", "L-C"].entries()) {
    let head = EMPTY_CHAIN;
    for (let step = 0; step < 6; step++) {
      const at = new Date(start + (step * 3 + index) * 3_600_000).toISOString().replace(".000Z", "Z");
      const event = {
        type: step === 0 ? "loan_subscribed" : "message_sent",
        actor: "system:workflow",
        data:
          step === 0
            ? { dueDate: "2026-01-15", note: 'quote " and, comma' }
            : {
                step: `s${step}`,
                channel: "sms",
                to: "+861****8000",
                balance: { amount: "1250.00", currency: "CNY" },
              },
      };
      const appended = appendToChain({ tenantId: "demo", loanId }, head, [event], at);
      head = appended.head;
      for (const entry of appended.entries) all.push({ tenantId: "demo", loanId, ...entry });
    }
  }
  return all;
}

const memoryReader = (entries: ScopedAuditEntry[]): AuditReader => ({
  async *entries(tenantId: string, range: AuditRange) {
    const key = (e: ScopedAuditEntry) => `${e.at}#${e.loanId}#${String(e.seq).padStart(10, "0")}`;
    const sorted = [...entries].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    for (const e of sorted) {
      if (e.tenantId !== tenantId || e.at < range.from || e.at >= range.to) continue;
      if (range.loanId !== undefined && e.loanId !== range.loanId) continue;
      yield e;
    }
  },
});

const principal = { tenantId: "demo", role: "compliance" as const, keyId: "k1" };
const clock = { now: () => new Date("2026-02-01T00:00:00Z") };

/** The export's lines; its manifest file's text is kept in `manifests` under the same array. */
const manifests = new WeakMap<string[], string>();
async function exported(format: ExportFormat, entries = trail()): Promise<string[]> {
  const lines: string[] = [];
  const run = exportAudit({ reader: memoryReader(entries), clock }, principal, {
    from: "2026-01-05T01:00:00Z",
    to: "2026-01-07T00:00:00Z",
    format,
  });
  for await (const line of run) lines.push(line);
  expect(run.manifest().entryCount).toBe(lines.length - (format === "csv" ? 1 : 0));
  manifests.set(lines, manifestJson(run.manifest()));
  return lines;
}
/** Verifies lines against the manifest written beside the untouched export they came from. */
const verify = (lines: string[], original: string[], manifest = manifests.get(original) ?? null) =>
  verifyExport(lines, manifest);

const codes = (problems: ExportProblem[]) => problems.map((p) => p.code);
const entryIndexes = (lines: string[], format: ExportFormat) => {
  const first = format === "csv" ? 1 : 0;
  return Array.from({ length: lines.length - first }, (_, i) => i + first);
};
/** loanId and seq of the entry at a line index, as the exporter wrote it. */
function which(lines: string[], index: number, format: ExportFormat) {
  const line = lines[index] as string;
  if (format === "csv") {
    const [, loanId, seq] = line.split(",");
    return { loanId, seq: Number(seq) };
  }
  const { loanId, seq } = JSON.parse(line) as { loanId: string; seq: number };
  return { loanId, seq };
}

function flipByte(line: string, at: number, xor: number): string {
  const bytes = Buffer.from(line, "utf8");
  bytes[at] = (bytes[at] as number) ^ xor;
  return new TextDecoder().decode(bytes);
}

describe.each(["jsonl", "csv"] as const)("verifyExport (%s)", (format) => {
  it("accepts an untouched export and reports what it covered", async () => {
    const lines = await exported(format);
    const verdict = await verify(lines, lines);
    expect(verdict.problems).toEqual([]);
    expect(verdict).toMatchObject({ valid: true, format, cases: 3 });
    expect(verdict.manifest?.cases.find((c) => c.loanId === "L-A")).toMatchObject({
      firstSeq: 2,
      firstPrevHash: expect.not.stringMatching(GENESIS_HASH),
    });
    expect(verdict.manifest?.cases.find((c) => c.loanId === "L-B")?.firstSeq).toBe(1);
  });

  it("names the entry whose byte was flipped", async () => {
    const lines = await exported(format);
    const index = entryIndexes(lines, format)[4] as number;
    const tampered = [...lines];
    // Inside the hash hex: still well-formed, but no longer the entry's hash.
    const at =
      (lines[index] as string).lastIndexOf("a") >= 0 ? (lines[index] as string).lastIndexOf("a") : 10;
    tampered[index] = flipByte(lines[index] as string, at, 0x01);
    const verdict = await verify(tampered, lines);
    expect(verdict.valid).toBe(false);
    expect(verdict.problems).toContainEqual(
      expect.objectContaining({ line: index + 1, ...which(lines, index, format) }),
    );
    expect(codes(verdict.problems)).toContain("DIGEST_MISMATCH");
  });

  it("names the entry after a dropped one, and the seq missing at a case's end", async () => {
    const lines = await exported(format);
    const indexes = entryIndexes(lines, format);
    const middle = indexes[3] as number;
    const dropped = which(lines, middle, format);
    const without = lines.filter((_, i) => i !== middle);
    const verdict = await verify(without, lines);
    expect(verdict.valid).toBe(false);
    expect(verdict.problems).toContainEqual(
      expect.objectContaining({ code: "SEQ_BREAK", loanId: dropped.loanId, seq: dropped.seq + 1 }),
    );
    expect(codes(verdict.problems)).toEqual(expect.arrayContaining(["COUNT_MISMATCH", "DIGEST_MISMATCH"]));

    const lastIndex = indexes.at(-1) as number;
    const last = which(lines, lastIndex, format);
    const tail = await verify(
      lines.filter((_, i) => i !== lastIndex),
      lines,
    );
    expect(tail.problems).toContainEqual(
      expect.objectContaining({ code: "CASE_MISMATCH", loanId: last.loanId, seq: last.seq }),
    );
  });

  it("names swapped entries, within a case and across cases", async () => {
    const lines = await exported(format);
    const indexes = entryIndexes(lines, format);
    // Adjacent lines are different loans (interleaved by hour): an order violation.
    const [a, b] = [indexes[1] as number, indexes[2] as number];
    const across = [...lines];
    [across[a], across[b]] = [lines[b] as string, lines[a] as string];
    const verdict = await verify(across, lines);
    expect(verdict.problems).toContainEqual(
      expect.objectContaining({ code: "OUT_OF_ORDER", line: b + 1, ...which(lines, a, format) }),
    );

    // Two entries of one case: order and chain both break.
    const loan = which(lines, a, format).loanId;
    const ofLoan = indexes.filter((i) => which(lines, i, format).loanId === loan);
    const [c, d] = [ofLoan[0] as number, ofLoan[1] as number];
    const within = [...lines];
    [within[c], within[d]] = [lines[d] as string, lines[c] as string];
    const second = await verify(within, lines);
    expect(second.problems).toContainEqual(
      expect.objectContaining({ code: "SEQ_BREAK", line: d + 1, ...which(lines, c, format) }),
    );
    expect(codes(second.problems)).toContain("OUT_OF_ORDER");
  });

  it("names an inserted entry, copied or forged", async () => {
    const lines = await exported(format);
    const indexes = entryIndexes(lines, format);
    const at = indexes[5] as number;
    const copied = [...lines.slice(0, at + 1), lines[at] as string, ...lines.slice(at + 1)];
    const verdict = await verify(copied, lines);
    expect(verdict.problems).toContainEqual(
      expect.objectContaining({ code: "SEQ_BREAK", line: at + 2, ...which(lines, at, format) }),
    );

    // A forged entry: a real one's line with its data changed, slotted in where its case goes on.
    const forged = (lines[at] as string).replace("s", "t");
    const inserted = [...lines.slice(0, at + 1), forged, ...lines.slice(at + 1)];
    const second = await verify(inserted, lines);
    expect(second.valid).toBe(false);
    expect(
      second.problems.some((p) => p.line === at + 2 && p.loanId === which(lines, at, format).loanId),
    ).toBe(true);
  });

  it("reports a truncated tail, and an export without its manifest", async () => {
    const lines = await exported(format);
    const cut = lines.slice(0, -3);
    const verdict = await verify(cut, lines);
    expect(codes(verdict.problems)).toEqual(
      expect.arrayContaining(["DIGEST_MISMATCH", "COUNT_MISMATCH", "CASE_MISMATCH"]),
    );
    // What only the manifest shows is reported against it (line 0), naming the case it lists.
    expect(verdict.problems).toContainEqual(
      expect.objectContaining({
        code: "CASE_MISMATCH",
        line: 0,
        loanId: which(lines, lines.length - 1, format).loanId,
      }),
    );
    // Cut inside a line: that line is malformed.
    const half = [...lines.slice(0, -2), (lines.at(-2) as string).slice(0, 40)];
    expect(codes((await verify(half, lines)).problems)).toEqual(
      expect.arrayContaining(["MALFORMED_LINE", "DIGEST_MISMATCH"]),
    );
    const alone = await verifyExport(lines, null);
    expect(alone.valid).toBe(false);
    expect(alone.problems).toEqual([expect.objectContaining({ code: "MISSING_MANIFEST", line: 0 })]);
  });

  it("detects an altered manifest", async () => {
    const lines = await exported(format);
    const manifest = manifests.get(lines) as string;
    for (const [from, to] of [
      ['"entryCount":', '"entryCount":1'],
      ['"generatedAt":"2026', '"generatedAt":"2027'],
      ['"tenantId":"demo"', '"tenantId":"dema"'],
      ['"count":', '"count":9'],
    ] as const) {
      const verdict = await verify(lines, lines, manifest.replace(from, to));
      expect(verdict.valid, `${from} → ${to}`).toBe(false);
      expect(codes(verdict.problems)).toContain("MANIFEST_HASH_MISMATCH");
    }
    const retenanted = await verify(lines, lines, manifest.replace('"tenantId":"demo"', '"tenantId":"dema"'));
    expect(retenanted.problems).toContainEqual(
      expect.objectContaining({ code: "WRONG_TENANT", loanId: expect.any(String) }),
    );
    expect(codes((await verify(lines, lines, manifest.slice(0, -20))).problems)).toEqual([
      "MALFORMED_MANIFEST",
    ]);
    // The manifest of the other format does not vouch for this file.
    const other = await exported(format === "csv" ? "jsonl" : "csv");
    expect(codes((await verify(lines, other)).problems)).toContain("FORMAT_MISMATCH");
  });

  it("refuses an entry whose instant is not in whole seconds", async () => {
    const entries = trail();
    const at = "2026-01-05T12:00:00.250Z";
    const extra = appendToChain(
      { tenantId: "demo", loanId: "L-M" },
      EMPTY_CHAIN,
      [{ type: "policy_changed", actor: "ops:k1", data: {} }],
      at,
    ).entries.map((e) => ({ tenantId: "demo", loanId: "L-M", ...e }));
    const lines = await exported(format, [...entries, ...extra]);
    const verdict = await verify(lines, lines);
    expect(verdict.problems).toContainEqual(
      expect.objectContaining({ code: "MALFORMED_LINE", loanId: "L-M", seq: 1 }),
    );
  });

  it("detects every single flipped byte anywhere in any line (property)", async () => {
    const lines = await exported(format);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: lines.length - 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (index, position, xor) => {
          const line = lines[index] as string;
          const bytes = Buffer.from(line, "utf8");
          const at = position % bytes.length;
          bytes[at] = (bytes[at] as number) ^ xor;
          // What a file reader would see: the bytes decoded, split at LF.
          const text = new TextDecoder().decode(bytes);
          const tampered = [...lines.slice(0, index), ...text.split("\n"), ...lines.slice(index + 1)];
          const verdict = await verify(tampered, lines);
          expect(verdict.valid).toBe(false);
          // An entry line names its entry (or a neighbour, when the flip split it).
          const isEntry = entryIndexes(lines, format).includes(index);
          if (isEntry)
            expect(verdict.problems.some((p) => p.line >= index + 1 && p.line <= index + 2)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("exportAudit", () => {
  it("writes the documented JSONL and CSV shapes: entries only, the manifest apart", async () => {
    const jsonl = await exported("jsonl");
    for (const line of jsonl) {
      expect(Object.keys(JSON.parse(line))).toEqual([
        "tenantId",
        "loanId",
        "seq",
        "at",
        "type",
        "actor",
        "data",
        "prevHash",
        "hash",
      ]);
    }
    expect(JSON.parse(manifests.get(jsonl) as string)).toMatchObject({
      version: 1,
      tenantId: "demo",
      from: "2026-01-05T01:00:00Z",
      to: "2026-01-07T00:00:00Z",
      format: "jsonl",
      generatedAt: "2026-02-01T00:00:00Z",
    });
    const csv = await exported("csv");
    expect(csv[0]).toBe("tenantId,loanId,seq,at,type,actor,data,prevHash,hash");
    expect(csv.find((line) => line.includes("quote"))).toContain(
      '"{""dueDate"":""2026-01-15"",""note"":""quote \\"" and, comma""}"',
    );
    expect(csv.some((line) => line.startsWith("#"))).toBe(false);
    expect(JSON.parse(manifests.get(csv) as string).format).toBe("csv");
  });

  it("writes CSV that RFC 4180 readers load: Python's csv and sqlite3 .import", async () => {
    const csv = await exported("csv");
    const dir = await mkdtemp(join(tmpdir(), "export-csv-"));
    try {
      const file = join(dir, "export.csv");
      await writeFile(file, `${csv.join("\n")}\n`);
      // Python's csv module: every record has the header's nine fields, and data is the entry's JSON.
      const read = spawnSync(
        "python3",
        [
          "-c",
          [
            "import csv, json, sys",
            "rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8'), strict=True))",
            "widths = sorted({len(r) for r in rows})",
            "json.loads(rows[1][6])",
            "print(json.dumps({'rows': len(rows), 'widths': widths, 'header': rows[0]}))",
          ].join("\n"),
          file,
        ],
        { encoding: "utf8" },
      );
      expect(read.stderr).toBe("");
      expect(JSON.parse(read.stdout)).toEqual({
        rows: csv.length,
        widths: [9],
        header: ["tenantId", "loanId", "seq", "at", "type", "actor", "data", "prevHash", "hash"],
      });
      const sqlite = spawnSync("sqlite3", ["-version"], { encoding: "utf8" });
      if (sqlite.status === 0) {
        const imported = spawnSync(
          "sqlite3",
          [
            ":memory:",
            "-cmd",
            `.import --csv ${file} audit`,
            "SELECT count(*), count(DISTINCT loanId), sum(json_valid(data)) FROM audit;",
          ],
          { encoding: "utf8" },
        );
        expect(imported.stderr).toBe("");
        const entries = csv.length - 1;
        expect(imported.stdout.trim()).toBe(`${entries}|3|${entries}`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("writes an export of no entries as an empty JSONL file, or the CSV header alone, each verifying", async () => {
    for (const format of ["jsonl", "csv"] as const) {
      const lines = await exported(format, []);
      expect(lines).toEqual(format === "csv" ? ["tenantId,loanId,seq,at,type,actor,data,prevHash,hash"] : []);
      expect((await verify(lines, lines)).problems).toEqual([]);
    }
  });

  it("stops rather than export a recipient in clear", async () => {
    const entries = trail();
    const leaky = appendToChain(
      { tenantId: "demo", loanId: "L-Z" },
      EMPTY_CHAIN,
      [
        {
          type: "message_sent",
          actor: "system:workflow",
          data: { channel: "email", to: "li.wei@example.com" },
        },
      ],
      "2026-01-05T12:00:00Z",
    ).entries.map((e) => ({ tenantId: "demo", loanId: "L-Z", ...e }));
    const run = exportAudit({ reader: memoryReader([...entries, ...leaky]), clock }, principal, {
      from: "2026-01-05T00:00:00Z",
      to: "2026-01-07T00:00:00Z",
      format: "jsonl",
    });
    const seen: string[] = [];
    await expect(async () => {
      for await (const line of run) seen.push(line);
    }).rejects.toMatchObject({ code: "EXPORT_UNMASKED_CONTACT" });
    expect(seen.join("\n")).not.toContain("li.wei@example.com");
  });
});
