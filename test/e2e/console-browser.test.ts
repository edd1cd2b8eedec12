import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  accessibilityViolations,
  desktopContext,
  launchBrowser,
  saveScreenshot,
} from "../support/browser.ts";
import { apiClient } from "../workflows/client.ts";
import { day, instant, useEventStack } from "../workflows/events-harness.ts";

/**
 * The ops console in a real browser (Debian's chromium): signing in with each role's key, the loans and a loan's
 * timeline with its chain verified in the page, the audit export, the hand-off queue — and what a role may not
 * open. Every view is checked with axe-core. UPDATE_SCREENSHOTS=1 rewrites docs/screenshots/console-*.png.
 */
const h = useEventStack("console-browser");
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function signIn(key: string): Promise<Page> {
  const context = await desktopContext(browser);
  const page = await context.newPage();
  await page.goto(`${h.stack.url}/console`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  return page;
}

describe("the ops console", () => {
  it("refuses a wrong key, and lets ops find a loan and read its verified timeline", async () => {
    const loanId = h.id("console-loan");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    await h.advanceTo(instant(day(due, -3), "12:00"));

    const context = await desktopContext(browser);
    const page = await context.newPage();
    await page.goto(`${h.stack.url}/console`);
    expect(await accessibilityViolations(page)).toEqual([]);
    await saveScreenshot(page, "console-sign-in");
    await page.getByLabel("API key").fill("dk_not_a_key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("not valid");
    await context.close();

    // Ops lands on the portfolio: the loan, and the two messages it was sent, on their days.
    const ops = await signIn(h.stack.keys.ops);
    await ops.getByRole("img", { name: /^Messages sent per day by channel/ }).waitFor();
    await saveScreenshot(ops, "console-portfolio");
    await ops.getByText("The figures behind the chart").click();
    const perDay = ops.getByRole("table", { name: "Messages sent per day by channel" });
    // Columns email, sms: the D−7 email, then the D−3 SMS.
    const row = (date: string) => perDay.getByRole("row", { name: new RegExp(`^${date} `) }).textContent();
    await expect(row(day(due, -7))).resolves.toBe(`${day(due, -7)}10`);
    await expect(row(day(due, -3))).resolves.toBe(`${day(due, -3)}01`);
    expect(await accessibilityViolations(ops)).toEqual([]);
    await ops.getByRole("navigation").getByRole("link", { name: "Loans" }).click();
    await ops.getByRole("link", { name: loanId }).waitFor();
    expect(await accessibilityViolations(ops)).toEqual([]);
    await saveScreenshot(ops, "console-loans");
    await ops.getByRole("link", { name: loanId }).click();
    const verified = ops.getByText(/^Chain verified: \d+ entries/);
    await verified.waitFor();
    const types = await ops.locator("tr.entry td:nth-child(3)").allTextContents();
    expect(types.slice(0, 1)).toEqual(["loan subscribed"]);
    expect(types.filter((t) => t === "message sent")).toHaveLength(2);
    // D−7 email and D−3 SMS, at 10:00 in the borrower's zone.
    const sent = await ops.locator("tr.message_sent td:nth-child(2)").allTextContents();
    expect(sent).toEqual([`${day(due, -7)} 10:00`, `${day(due, -3)} 10:00`]);
    // What the D−3 SMS said, its hash checked again in the page: the text sent, the link's token left out.
    const sms = (await h.messages(loanId)).find((m) => m.channel === "sms");
    const smsText = ops.locator("tr.message_sent", { hasText: "sms to" }).locator("details");
    await smsText.locator("summary").click();
    await expect(smsText.locator("summary").textContent()).resolves.toBe("Text (matches the trail's hash)");
    const shown = (await smsText.locator("pre").textContent()) ?? "";
    expect(shown.replace(/\[link [0-9a-f]{16}\]/, "TOKEN")).toBe(
      sms?.body.replace(/(?<=\/p\/)[\w-]{43}/, "TOKEN"),
    );
    expect(await accessibilityViolations(ops)).toEqual([]);
    await saveScreenshot(ops, "console-timeline");
    await ops.context().close();
  });

  it("shows each role its own views: compliance exports, legal acknowledges, a lender cannot open either", async () => {
    const loanId = h.id("console-legal");
    const due = day(await h.today(), 2);
    await h.subscribe(loanId, { dueDate: due });
    await h.advanceTo(instant(day(due, 31), "12:00"));

    const compliance = await signIn(h.stack.keys.compliance);
    expect(await compliance.getByRole("navigation").getByRole("link").allTextContents()).toEqual([
      "Loans",
      "Audit export",
    ]);
    await compliance.getByRole("link", { name: "Audit export" }).click();
    await compliance.getByLabel("From (UTC day)").fill(day(due, -10));
    await compliance.getByLabel("To (UTC day, included)").fill(day(due, 31));
    await compliance.getByRole("button", { name: "Export" }).click();
    await compliance.getByText(/^Export ready: \d+ bytes/).waitFor();
    // Downloaded and checked in the page with the verifier `npm run audit -- verify` runs.
    await compliance.getByText(/^Verified: \d+ entries of \d+ loans/).waitFor();
    expect(await accessibilityViolations(compliance)).toEqual([]);
    await saveScreenshot(compliance, "console-export");
    await compliance.context().close();

    const legal = await signIn(h.stack.keys.legal);
    await legal.getByRole("button", { name: `Open the package of ${loanId}` }).click();
    await legal.getByRole("heading", { name: `Package of ${loanId}` }).waitFor();
    // The package's HTML document, as published beside it, saved as a file of its own.
    const saving = legal.waitForEvent("download");
    await legal.getByRole("button", { name: "Download the package (HTML)" }).click();
    const saved = await saving;
    expect(saved.suggestedFilename()).toBe(`handoff-${loanId}.html`);
    const published = await readFile(join(h.stack.handoffDir, "demo", `${loanId}.html`), "utf8");
    await expect(readFile(await saved.path(), "utf8")).resolves.toBe(published);
    expect(published).toContain(loanId);
    await legal.getByRole("button", { name: "Acknowledge" }).click();
    await legal.getByText("Acknowledged; the case's trail records it.").waitFor();
    expect(await accessibilityViolations(legal)).toEqual([]);
    await saveScreenshot(legal, "console-handoffs");
    await legal.context().close();
    const trail = await h.audit(loanId);
    expect(trail.filter((e) => e.type === "handoff_acknowledged")).toHaveLength(1);

    const lender = await signIn(h.stack.keys.lender);
    await lender.goto(`${h.stack.url}/console/compliance`);
    await lender.getByRole("heading", { name: "Not available" }).waitFor();
    expect(await lender.getByRole("navigation").getByRole("link").allTextContents()).toEqual([
      "Portfolio",
      "Loans",
    ]);
    await lender.context().close();
  });
  it("lets ops move the D+3 SMS to D+5 after a what-if preview, save it in flight, and see it on a loan", async () => {
    const loanId = h.id("console-policy");
    const due = day(await h.today(), 5);
    await h.subscribe(loanId, { dueDate: due });
    await h.advanceTo(instant(day(due, 1), "12:00"));

    const ops = await signIn(h.stack.keys.ops);
    await ops.getByRole("navigation").getByRole("link", { name: "Policies" }).click();
    const time = ops.getByLabel("Time of soft_3");
    // A time outside the window: the API's refusal is shown on the field it names.
    await time.fill("22:30");
    const smsCap = ops.getByLabel("SMS a day at most");
    await smsCap.fill("0");
    await ops.getByRole("button", { name: "Save for new loans" }).click();
    await ops.locator('[id="steps.5.sendAt-error"]').waitFor();
    await expect(time.getAttribute("aria-invalid")).resolves.toBe("true");
    await expect(ops.locator('[id="contactRules.caps.smsPerDay-error"]').textContent()).resolves.toBe(
      "must be a positive whole number",
    );
    await time.fill("10:00");
    await smsCap.fill("1");

    await ops.getByLabel("Day of soft_3").fill("5");
    // A step added in the editor (D+12, an SMS with the firm overdue text), and one removed (the D+30 email).
    const adding = ops.getByRole("form", { name: "Add a step" });
    await adding.getByLabel("New step's id").fill("soft_12");
    await adding.getByLabel("its day").fill("12");
    await adding.getByLabel("its template").selectOption("overdue_firm");
    await adding.getByRole("button", { name: "Add the step" }).click();
    await ops.getByLabel("Day of soft_12").waitFor();
    const stepsBefore = await ops.locator("table tbody th[scope=row]").allTextContents();
    const last = stepsBefore.at(-2) ?? "";
    await ops.getByRole("button", { name: `Remove ${last}` }).click();
    await expect(ops.getByLabel(`Day of ${last}`).count()).resolves.toBe(0);
    await ops.getByLabel("Loans in the synthetic book").fill("500");
    await ops.getByRole("button", { name: "Preview the effect" }).click();
    const comparison = ops.getByRole("table", { name: "What each would do (simulated)" });
    await comparison.waitFor({ timeout: 60_000 });
    const messages = await comparison
      .getByRole("row", { name: /^Messages / })
      .locator("td")
      .allTextContents();
    expect(messages.map(Number).every((n) => n > 0)).toBe(true);
    expect(await accessibilityViolations(ops)).toEqual([]);
    await saveScreenshot(ops, "console-policy");
    await ops.getByRole("button", { name: "Save and apply to running loans" }).click();
    await ops.getByText(/^Saved as version \d+; moving the running loans onto it/).waitFor();
    await h.settle();
    await ops.getByText(/^Running loans: done — [1-9]\d* moved, 0 failed of [1-9]\d*\.$/).waitFor();
    await ops.getByText("History of default").click();
    const latest = ops.getByRole("table", { name: "Every version, newest first" }).getByRole("row").nth(1);
    await expect(latest.textContent()).resolves.toMatch(/in flight.*steps\.soft_3/);
    await expect(latest.textContent()).resolves.toContain("steps.soft_12");

    // The loan moves to the new version; its D+3 SMS now goes at D+5.
    await h.advanceTo(instant(day(due, 6), "12:00"));
    await ops.goto(`${h.stack.url}/console/loans/${loanId}`);
    await ops.getByText(/^Chain verified/).waitFor();
    const types = await ops.locator("tr.entry td:nth-child(3)").allTextContents();
    expect(types).toContain("policy applied");
    const soft3 = ops.locator("tr.message_sent", { hasText: "soft_3" });
    await expect(soft3.locator("td:nth-child(2)").textContent()).resolves.toBe(`${day(due, 5)} 10:00`);
    await ops.context().close();

    // Settings: a rate the API refuses is shown on its field; a good one is stored as the next version.
    const settings = await signIn(h.stack.keys.ops);
    await settings.getByRole("navigation").getByRole("link", { name: "Settings" }).click();
    const smsRate = settings.getByLabel("sms a second, at most");
    await smsRate.fill("5000");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await settings.locator('[id="sendRates.sms-error"]').waitFor();
    await smsRate.fill("50");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await settings.getByText(/^Saved as version \d+\.$/).waitFor();
    expect(await accessibilityViolations(settings)).toEqual([]);
    await settings.context().close();
    const stored = await fetch(`${h.stack.url}/v1/settings`, {
      headers: { authorization: `Bearer ${h.stack.keys.ops}` },
    });
    expect(((await stored.json()) as { sendRates: unknown }).sendRates).toEqual({ sms: 50 });

    const lender = await signIn(h.stack.keys.lender);
    await lender.goto(`${h.stack.url}/console/policies`);
    await lender.getByRole("heading", { name: "Not available" }).waitFor();
    await lender.context().close();
  }, 120_000);
  it("lets an agent take the most urgent call from the work list and record what happened", async () => {
    const ops = apiClient(h.stack.url, h.stack.keys.ops);
    const policy = (await ops.get("/v1/policies/default")).body;
    const {
      id: _id,
      version: _version,
      createdAt: _at,
      createdBy: _by,
      changeReason: _why,
      ...rules
    } = policy;
    const steps = [
      ...policy.steps,
      { id: "call_2", stage: "soft_collection", offsetDays: 2, sendAt: "10:00", channels: [], task: "call" },
    ].sort((a: { offsetDays: number }, b: { offsetDays: number }) => a.offsetDays - b.offsetDays);
    const stored = await ops.call("PUT", "/v1/policies/team", { ...rules, steps, applyTo: "new_loans" });
    expect(stored.status, JSON.stringify(stored.body)).toBe(201);
    const loanId = h.id("console-call");
    const due = day(await h.today(), 1);
    await h.subscribe(loanId, { dueDate: due, policyId: "team" });
    await h.advanceTo(instant(day(due, 2), "10:05"));

    const agent = await signIn(h.stack.keys.agent);
    await agent.getByRole("heading", { name: "Work list" }).waitFor();
    expect(await agent.getByRole("navigation").getByRole("link").allTextContents()).toEqual(["Work list"]);
    await agent.getByRole("button", { name: `Claim the call of ${loanId}` }).click();
    await agent.getByRole("heading", { name: new RegExp(`^Call .* about ${loanId}$`) }).waitFor();
    expect(await accessibilityViolations(agent)).toEqual([]);
    await saveScreenshot(agent, "console-work");
    await agent.getByLabel("Outcome").selectOption("no_answer");
    await agent.getByRole("button", { name: "Record the outcome" }).click();
    await agent.getByText(`Recorded no answer for ${loanId}.`).waitFor();
    await agent.context().close();
    const trail = await h.audit(loanId);
    expect(trail.filter((e) => e.type === "contact_outcome").map((e) => e.data.result)).toEqual([
      "no_answer",
    ]);
  });
});
