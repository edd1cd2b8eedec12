import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type PhoneLocale, phoneContext, saveScreenshot } from "../support/browser.ts";
import { day, instant, sentSince, useEventStack } from "../workflows/events-harness.ts";

/**
 * The borrowers' page in a real browser (Debian's chromium, at a phone's size): the link from a sent message,
 * verification, and a promise to pay — after which the next reminders are not sent. Run with UPDATE_SCREENSHOTS=1
 * to rewrite docs/screenshots/portal-*.png.
 */
const h = useEventStack("portal-browser");
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const BORROWERS: Record<PhoneLocale, Record<string, unknown>> = {
  "zh-CN": {
    name: "李伟",
    phone: "+8613800138000",
    locale: "zh-CN",
    timeZone: "Asia/Shanghai",
    verification: { type: "date_of_birth", value: "1990-04-12" },
  },
  "en-US": {
    name: "Jane Doe",
    phone: "+8613800138001",
    email: "jane.doe@example.com",
    locale: "en-US",
    timeZone: "Asia/Shanghai",
    verification: { type: "date_of_birth", value: "1990-04-12" },
  },
};

describe("the borrowers' page in a browser", () => {
  for (const locale of ["zh-CN", "en-US"] as const) {
    it(`${locale}: opens the link from the message, verifies, promises to pay; a confirmation and no reminder until the date`, async () => {
      const loanId = h.id(`browser-${locale}`);
      const due = day(await h.today(), 10);
      await h.subscribe(loanId, { dueDate: due, borrower: BORROWERS[locale] });
      await h.advanceTo(instant(day(due, -7), "10:05"));
      const [message] = await h.messages(loanId);
      const link = /(http:\/\/127\.0\.0\.1:\d+\/p\/[A-Za-z0-9_-]{43})/.exec(message?.body ?? "")?.[1];
      expect(link, message?.body).toBeDefined();

      const context = await phoneContext(browser, locale);
      const page = await context.newPage();
      await page.goto(link as string);
      expect(await page.getAttribute("html", "lang")).toBe(locale);
      await saveScreenshot(page, `portal-verify-${locale}`);
      await page.locator('input[name="answer"]').fill("1990-04-12");
      await page.locator('form[action$="/verify"] button[type="submit"]').click();
      await page.waitForURL(link as string);
      await expect.poll(() => page.locator("form[action$='/promise']").count()).toBe(1);
      await saveScreenshot(page, `portal-case-${locale}`);

      const promisedAt = await h.now();
      await page.locator('input[name="date"]').fill(day(due, 2));
      await page.locator('form[action$="/promise"] button[type="submit"]').click();
      await page.waitForLoadState();
      await saveScreenshot(page, `portal-done-${locale}`);
      await context.close();

      expect(await h.loan(loanId)).toMatchObject({
        status: "on_hold",
        hold: { reason: "promise", until: day(due, 2) },
      });
      // The one message until the date is the promise's confirmation, in the borrower's language.
      await h.advanceTo(instant(day(due, 2), "20:00"));
      const since = sentSince(await h.messages(loanId), promisedAt);
      expect(since.map((m) => m.step)).toEqual(["confirmation"]);
      expect(since[0]?.body).toMatch(locale === "zh-CN" ? /还款承诺/ : /promise to pay/);
    });
  }
});
