import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { formatOf, type PortfolioRecord, readPortfolio } from "../../functions/import/portfolio-file.ts";

const read = async (text: string, format: "csv" | "jsonl") => {
  const records: PortfolioRecord[] = [];
  for await (const record of readPortfolio(Readable.from([text]), format)) records.push(record);
  return records;
};

const HEADER = "loanId,name,email,phone,locale,timeZone,amount,currency,dueDate,policyId";
const loan = (id: string, name = "Li Wei") =>
  `${id},${name},li@example.com,+8613800138000,zh-CN,Asia/Shanghai,1250.00,CNY,2026-01-15,default`;

describe("portfolio files", () => {
  it("knows the format from the file name", () => {
    expect(formatOf("a/b.JSONL")).toBe("jsonl");
    expect(formatOf("x.ndjson")).toBe("jsonl");
    expect(formatOf("x.csv")).toBe("csv");
    expect(() => formatOf("x.xlsx")).toThrow(/jsonl/);
  });

  it("reads CSV with quoted commas, doubled quotes, line breaks inside quotes, CRLF and a BOM", async () => {
    const text = `\uFEFF${HEADER}\r\n${loan("A", '"Wei, Li"')}\r\n${loan("B", '"Anna ""Ann"" Smith"')}\r\n${loan("C", '"Two\r\nLines"')}\r\n`;
    const records = await read(text, "csv");
    // The quoted line break is read as part of the cell; a name may not hold one, so that loan is refused.
    expect(records.map((r) => ("loan" in r ? [r.line, r.loan.borrower.name] : r))).toEqual([
      [2, "Wei, Li"],
      [3, 'Anna "Ann" Smith'],
      {
        line: 4,
        loanId: "C",
        error: {
          message: "the loan is not valid",
          details: [
            { path: "borrower.name", message: "must not contain control characters such as line breaks" },
          ],
        },
      },
    ]);
    const first = records[0] as Extract<PortfolioRecord, { loan: unknown }>;
    expect(first.loan).toEqual({
      loanId: "A",
      borrower: {
        name: "Wei, Li",
        email: "li@example.com",
        phone: "+8613800138000",
        locale: "zh-CN",
        timeZone: "Asia/Shanghai",
      },
      amountDue: { amount: "1250.00", currency: "CNY" },
      dueDate: "2026-01-15",
      policyId: "default",
    });
  });

  it("takes columns in any order, optional ones left out, empty cells as absent", async () => {
    const text =
      "dueDate,loanId,name,phone,locale,timeZone,amount,currency\n2026-01-15,X,Li,+8613800138000,zh-CN,Asia/Shanghai,5,CNY\n";
    const [record] = await read(text, "csv");
    expect(record).toMatchObject({
      line: 2,
      loan: { loanId: "X", borrower: { phone: "+8613800138000" } },
    });
    expect((record as { loan: { borrower: object } }).loan.borrower).not.toHaveProperty("email");
    // No policy column: the tenant's strategy chooses at subscription (the default policy without one).
    expect((record as { loan: object }).loan).not.toHaveProperty("policyId");
  });

  it("reports bad rows with their line numbers and the field paths, and goes on", async () => {
    const text = [
      HEADER,
      loan("A"),
      "B,Li,,,zh-CN,Asia/Shanghai,1250.00,CNY,2026-01-15,default",
      "C,too,few",
      "",
      loan("D").replace("2026-01-15", "2026-02-30"),
      loan("E"),
    ].join("\n");
    const records = await read(text, "csv");
    expect(
      records.map((r) => ("loan" in r ? [r.line, "ok"] : [r.line, r.error.message, r.error.details])),
    ).toEqual([
      [2, "ok"],
      [
        3,
        "the loan is not valid",
        [{ path: "borrower.email", message: "at least one of email or phone is required" }],
      ],
      [4, "expected 10 fields, found 3", []],
      [6, "the loan is not valid", [{ path: "dueDate", message: "is not a calendar date" }]],
      [7, "ok"],
    ]);
    expect(records[1]).toMatchObject({ loanId: "B" });
  });

  it("refuses a CSV whose header is not the documented one, and an unclosed quote", async () => {
    await expect(read("id,name\n1,x\n", "csv")).rejects.toThrow(/unknown: id.*missing: loanId/);
    await expect(read(`${HEADER}\n"A,unclosed`, "csv")).rejects.toThrow(
      /line 2: a quoted field is never closed/,
    );
    const runaway = `${HEADER}\n"A${"\nmore".repeat(30)}`;
    await expect(read(runaway, "csv")).rejects.toThrow(/not closed within 20 lines/);
  });

  it("reads JSONL line by line: bad JSON and invalid loans are reported, blank lines skipped", async () => {
    const good = {
      loanId: "J1",
      borrower: { name: "Li", email: "li@example.com", locale: "zh-CN", timeZone: "Asia/Shanghai" },
      amountDue: { amount: "10.00", currency: "CNY" },
      dueDate: "2026-01-15",
    };
    const text = [
      JSON.stringify(good),
      "{oops",
      "",
      JSON.stringify({ ...good, loanId: "J2", extra: 1 }),
      JSON.stringify({ ...good, loanId: "J3" }),
    ].join("\r\n");
    const records = await read(text, "jsonl");
    expect(records.map((r) => [r.line, "loan" in r ? r.loan.loanId : r.error.message])).toEqual([
      [1, "J1"],
      [2, "the line is not valid JSON"],
      [4, "the loan is not valid"],
      [5, "J3"],
    ]);
  });
});
