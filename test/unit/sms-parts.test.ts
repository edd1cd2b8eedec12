import { describe, expect, it } from "vitest";
import { smsParts } from "../../functions/domain/sms-parts.ts";

describe("SMS parts", () => {
  it("counts GSM-7 text by 160, then 153 a part, extension characters twice", () => {
    expect(smsParts("a".repeat(160))).toEqual({ encoding: "GSM-7", units: 160, parts: 1 });
    expect(smsParts("a".repeat(161))).toEqual({ encoding: "GSM-7", units: 161, parts: 2 });
    expect(smsParts("a".repeat(306))).toMatchObject({ parts: 2 });
    expect(smsParts("a".repeat(307))).toMatchObject({ parts: 3 });
    expect(smsParts(`${"a".repeat(159)}€`)).toEqual({ encoding: "GSM-7", units: 161, parts: 2 });
  });

  it("counts any other text as UCS-2 code units: 70, then 67 a part", () => {
    expect(smsParts("您".repeat(70))).toEqual({ encoding: "UCS-2", units: 70, parts: 1 });
    expect(smsParts("您".repeat(71))).toEqual({ encoding: "UCS-2", units: 71, parts: 2 });
    expect(smsParts(`${"a".repeat(134)}您`)).toEqual({ encoding: "UCS-2", units: 135, parts: 3 });
    expect(smsParts("😀")).toEqual({ encoding: "UCS-2", units: 2, parts: 1 });
  });
});
