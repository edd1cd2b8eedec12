import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maskEmail, maskPhone } from "../../functions/domain/pii.ts";

describe("masking contact data for evidence and exports", () => {
  it("keeps the country prefix and last four digits of a long number", () => {
    expect(maskPhone("+8613800138000")).toBe("+861******8000");
  });

  it("hides most of a short number too", () => {
    expect(maskPhone("+1234567")).toBe("+1****67");
    expect(maskPhone("+12345678")).toBe("+1*****78");
  });

  it("never leaves a usable phone number, whatever its length", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\+[1-9]\d{5,14}$/), (phone) => {
        const masked = maskPhone(phone);
        expect(masked).not.toMatch(/^\+\d{6,15}$/);
        expect(masked.replace(/[^*]/g, "").length).toBeGreaterThanOrEqual(3);
        expect(masked.replace(/\D/g, "").length).toBeLessThanOrEqual(8);
      }),
    );
  });

  it("keeps the first letter and the domain of an email address", () => {
    expect(maskEmail("li.wei@example.com")).toBe("l***@example.com");
    expect(maskEmail("nobody")).toBe("***");
  });
});
