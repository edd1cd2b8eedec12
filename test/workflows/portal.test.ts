import { describe, expect, it } from "vitest";
import { apiClient } from "./client.ts";
import { day, instant, sentSince, useEventStack } from "./events-harness.ts";

/**
 * The borrowers' page over HTTP on the embedded stack: the link a real message carries, verification, the lock,
 * revocation, and a promise made on the page holding contact exactly as a lender's promise_to_pay does.
 */
const h = useEventStack("portal");

interface PageAnswer {
  status: number;
  body: string;
  headers: Headers;
}

/** A borrower's browser, as far as the page needs one: cookies kept per link, forms posted, no redirects followed. */
function borrowerAgent() {
  const cookies = new Map<string, string>();
  const call = async (url: string, form?: Record<string, string>): Promise<PageAnswer> => {
    const response = await fetch(url, {
      method: form ? "POST" : "GET",
      redirect: "manual",
      headers: {
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join("; "),
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const cut = pair.indexOf("=");
      cookies.set(pair.slice(0, cut), pair.slice(cut + 1));
    }
    return { status: response.status, body: await response.text(), headers: response.headers };
  };
  const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  return {
    get: (url: string) => call(url),
    /** Posts a form of the page last shown, with its CSRF token. */
    post: (url: string, page: PageAnswer, fields: Record<string, string>) =>
      call(url, { ...fields, csrf: csrfOf(page.body) }),
  };
}

/** The link of the loan's latest message, from the outbox. */
async function linkOf(loanId: string): Promise<string> {
  const [latest] = (await h.messages(loanId)).slice(-1);
  const link = /(http:\/\/127\.0\.0\.1:\d+\/p\/[A-Za-z0-9_-]{43})/.exec(latest?.body ?? "")?.[1];
  if (!link) throw new Error(`no portal link in ${JSON.stringify(latest)}`);
  return link;
}

/** Subscribes a loan due in ten days and runs the clock past its first reminder (D−7, 10:00). */
async function loanWithReminder(prefix: string, borrower: Record<string, unknown> = {}) {
  const loanId = h.id(prefix);
  const due = day(await h.today(), 10);
  const request = await h.subscribe(loanId, { dueDate: due, ...borrower });
  await h.advanceTo(instant(day(due, -7), "10:05"));
  return { loanId, due, request, link: await linkOf(loanId) };
}

describe("the borrowers' page", () => {
  it("verifies the borrower, takes a promise within the limit, and holds contact until its date", async () => {
    const { loanId, due, link } = await loanWithReminder("portal-promise", {
      borrower: {
        name: "Li Wei",
        phone: "+8613800138000",
        email: "li.wei@example.com",
        locale: "zh-CN",
        timeZone: "Asia/Shanghai",
        verification: { type: "date_of_birth", value: "1990-04-12" },
      },
    });
    const agent = borrowerAgent();
    const form = await agent.get(link);
    expect(form.status).toBe(200);
    expect(form.headers.get("cache-control")).toBe("no-store");
    expect(form.headers.get("content-security-policy")).toContain("default-src 'none'");
    // Nothing about the loan before the borrower answered.
    expect(form.body).not.toContain("Li Wei");
    expect(form.body).not.toContain(loanId);

    const wrong = await agent.post(`${link}/verify`, form, { answer: "1990-04-13" });
    expect(wrong.status).toBe(401);
    const verified = await agent.post(`${link}/verify`, wrong, { answer: "1990-04-12" });
    expect(verified.status).toBe(303);
    const page = await agent.get(link);
    expect(page.status).toBe(200);
    expect(page.body).toContain("Li Wei");

    // Beyond the policy's 14 days: refused on the form, and the case is as it was.
    const tooLate = await agent.post(`${link}/promise`, page, { date: day(due, 30) });
    expect(tooLate.status).toBe(422);
    expect(await h.loan(loanId)).toMatchObject({ status: "active", hold: null });

    const promisedAt = await h.now();
    const promised = await agent.post(`${link}/promise`, page, { date: day(due, 2) });
    expect(promised.status).toBe(200);
    expect(await h.loan(loanId)).toMatchObject({
      status: "on_hold",
      hold: { reason: "promise", until: day(due, 2), amount: { amount: "1250.00", currency: "CNY" } },
    });
    const audit = await h.audit(loanId);
    const promise = audit.find((entry) => entry.type === "promise_to_pay");
    expect(promise?.actor).toMatch(/^borrower:[0-9a-f]{16}$/);
    // D−3, D−1 and the due day would each have sent a reminder: none goes out while the promise holds. The one
    // message is the promise's confirmation, on the channel the link came by (the D−7 email), in Chinese.
    await h.advanceTo(instant(day(due, 2), "20:00"));
    const since = sentSince(await h.messages(loanId), promisedAt);
    expect(since.map((m) => [m.step, m.channel])).toEqual([["confirmation", "email"]]);
    expect(since[0]?.body).toContain("还款承诺");
    expect(since[0]?.body).toContain("1,250.00");
    const confirmation = (await h.audit(loanId)).find(
      (entry) => entry.type === "message_sent" && entry.data.step === "confirmation",
    );
    expect(confirmation).toMatchObject({
      actor: "system:workflow",
      data: { action: "promise", channel: "email", consentBasis: "borrower_request" },
    });
  });

  it("locks a link after five wrong answers, on the record, and tells nothing once locked", async () => {
    const { loanId, link } = await loanWithReminder("portal-lock");
    const agent = borrowerAgent();
    let page = await agent.get(link);
    for (let attempt = 1; attempt <= 4; attempt++) {
      page = await agent.post(`${link}/verify`, page, { answer: "0000" });
      expect(page.status).toBe(401);
    }
    page = await agent.post(`${link}/verify`, page, { answer: "0000" });
    expect(page.status).toBe(423);
    // The right answer (the phone's last four digits) no longer opens it today.
    const form = await agent.get(link);
    expect(form.status).toBe(423);
    expect(form.body).not.toContain(loanId);
    const locks = (await h.audit(loanId)).filter((entry) => entry.type === "portal_locked");
    expect(locks).toHaveLength(1);
    expect(locks[0]?.data).toMatchObject({ wrongAnswers: 5 });
  });

  it("answers a mistyped, revoked or foreign token with the same neutral page, and changes nothing", async () => {
    const { loanId, link } = await loanWithReminder("portal-revoke");
    const agent = borrowerAgent();
    const mistyped = await agent.get(`${link.slice(0, -1)}${link.endsWith("A") ? "B" : "A"}`);
    expect(mistyped.status).toBe(404);

    const revoked = await h.lender.post(`/v1/loans/${loanId}/portal-links:revoke`, {});
    expect(revoked.status).toBe(200);
    const after = await agent.get(link);
    expect(after.status).toBe(404);
    expect(after.body).toBe(mistyped.body);
    expect(after.body).not.toContain(loanId);
    const posted = await agent.post(`${link}/verify`, after, { answer: "8000" });
    expect(posted.status).toBe(404);
    const types = (await h.audit(loanId)).map((entry) => entry.type);
    expect(types).toContain("portal_links_revoked");
    expect(types).not.toContain("portal_locked");
  });

  it("lets a link expire after the policy's 30 days while a newer message's link still works", async () => {
    const { loanId, due, link } = await loanWithReminder("portal-expiry");
    // D−7 + 30 days has passed; reminders kept coming, each with a link of its own.
    await h.advanceTo(instant(day(due, 24), "12:00"));
    const agent = borrowerAgent();
    const expired = await agent.get(link);
    expect(expired.status).toBe(404);
    expect(expired.body).not.toContain(loanId);
    const newest = await linkOf(loanId);
    expect(newest).not.toBe(link);
    expect((await agent.get(newest)).status).toBe(200);
  });

  it("links the pay button to the tenant's payment page, the loan's id filled in URL-encoded", async () => {
    const ops = apiClient(h.stack.url, h.stack.keys.ops);
    const refused = await ops.call("PUT", "/v1/settings", { paymentUrlTemplate: "http://localhost/pay" });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([
      { path: "paymentUrlTemplate", message: "must hold {loanReference}" },
    ]);
    const template = "http://localhost/pay?loan={loanReference}";
    const stored = await ops.call("PUT", "/v1/settings", { paymentUrlTemplate: template });
    expect(stored.body).toMatchObject({ sendRates: {}, paymentUrlTemplate: template, version: 1 });

    // A loan id with a colon: the link carries it as %3A.
    const { loanId, link } = await loanWithReminder("portal:pay");
    const agent = borrowerAgent();
    const form = await agent.get(link);
    expect(form.body).not.toContain("/pay?loan=");
    expect((await agent.post(`${link}/verify`, form, { answer: "8000" })).status).toBe(303);
    const page = await agent.get(link);
    expect(page.status).toBe(200);
    expect(loanId).toMatch(/^portal:pay-/);
    expect(page.body).toContain(`href="http://localhost/pay?loan=${loanId.replace(":", "%3A")}"`);
  });

  it("takes a plan among the policy's offers: for the lender to approve, or at once; refuses any other", async () => {
    const { loanId, link } = await loanWithReminder("portal-plan");
    const agent = borrowerAgent();
    const form = await agent.get(link);
    expect((await agent.post(`${link}/verify`, form, { answer: "8000" })).status).toBe(303);
    const page = await agent.get(link);
    // The default offers on 1,250.00: 3, 6 and 12 months (104.16 a month stays above the 100.00 floor).
    for (const months of [3, 6, 12]) expect(page.body).toContain(`name="months" value="${months}"`);

    const refused = await agent.post(`${link}/plan`, page, { months: "24" });
    expect(refused.status).toBe(422);
    const askedAt = await h.now();
    const asked = await agent.post(`${link}/plan`, page, { months: "3" });
    expect(asked.status).toBe(200);
    await h.settle();
    const confirmations = sentSince(await h.messages(loanId), askedAt);
    expect(confirmations.map((m) => m.step)).toEqual(["confirmation"]);
    expect(confirmations[0]?.body).toMatch(/3-month plan|3期分期/);
    // The default policy leaves the decision to the lender: on the record, the case unchanged.
    expect(await h.loan(loanId)).toMatchObject({ status: "active", installments: null });
    const requests = (await h.audit(loanId)).filter((entry) => entry.type === "plan_requested");
    expect(requests).toHaveLength(1);
    expect(requests[0]?.actor).toMatch(/^borrower:/);
    expect(requests[0]?.data).toMatchObject({
      months: 3,
      installments: [
        { amount: { amount: "416.66", currency: "CNY" } },
        { amount: { amount: "416.66", currency: "CNY" } },
        { amount: { amount: "416.68", currency: "CNY" } },
      ],
    });

    // A policy that applies plans at once: the same request restructures the loan.
    const ops = apiClient(h.stack.url, h.stack.keys.ops);
    const current = await ops.call("GET", "/v1/policies/default");
    const { id: _id, version: _version, ...rules } = current.body;
    const stored = await ops.call("PUT", "/v1/policies/self-serve", {
      ...rules,
      selfService: { planApproval: "automatic", planOffers: [{ months: 4, minInstallment: "50.00" }] },
    });
    expect(stored.status, JSON.stringify(stored.body)).toBe(201);
    const auto = await loanWithReminder("portal-plan-auto", { policyId: "self-serve" });
    const autoAgent = borrowerAgent();
    const autoForm = await autoAgent.get(auto.link);
    await autoAgent.post(`${auto.link}/verify`, autoForm, { answer: "8000" });
    const autoPage = await autoAgent.get(auto.link);
    expect((await autoAgent.post(`${auto.link}/plan`, autoPage, { months: "4" })).status).toBe(200);
    const planned = await h.loan(auto.loanId);
    expect(planned.installments).toHaveLength(4);
    const applied = (await h.audit(auto.loanId)).find((entry) => entry.type === "installment_plan");
    expect(applied?.actor).toMatch(/^borrower:/);
  });

  it("sends later reminders at the time the borrower chose inside the window, and refuses one outside it", async () => {
    const { loanId, due, link } = await loanWithReminder("portal-time");
    const agent = borrowerAgent();
    const form = await agent.get(link);
    expect((await agent.post(`${link}/verify`, form, { answer: "8000" })).status).toBe(303);
    const page = await agent.get(link);
    expect((await agent.post(`${link}/contact-time`, page, { time: "22:30" })).status).toBe(422);
    const chosen = await agent.post(`${link}/contact-time`, page, { time: "18:00" });
    expect(chosen.status).toBe(200);
    const entry = (await h.audit(loanId)).find((e) => e.type === "contact_time_preferred");
    expect(entry).toMatchObject({
      actor: expect.stringMatching(/^borrower:/),
      data: { from: null, to: "18:00" },
    });

    const chosenAt = await h.now();
    await h.advanceTo(instant(day(due, -3), "20:00"));
    const later = sentSince(await h.messages(loanId), chosenAt);
    expect(later.map((m) => m.step)).toEqual(["confirmation", "pre_due_3"]);
    expect(later[0]?.body).toContain("18:00");
    expect(Date.parse(later[1]?.sentAt ?? "")).toBe(Date.parse(instant(day(due, -3), "18:00")));
  });

  it("confirms an action inside the contact window only, and never where contact is barred", async () => {
    const night = await loanWithReminder("portal-night");
    const optOut = await loanWithReminder("portal-optout");
    const dispute = await loanWithReminder("portal-dispute");
    // Each loan is due three days after the one before; all three borrowers act at 21:30 on the last one's D−7.
    const evening = day(dispute.due, -7);
    await h.advanceTo(instant(evening, "21:30"));
    const actedAt = await h.now();
    const act = async (link: string, action: string, fields: Record<string, string>) => {
      const agent = borrowerAgent();
      const form = await agent.get(link);
      expect((await agent.post(`${link}/verify`, form, { answer: "8000" })).status).toBe(303);
      const page = await agent.get(link);
      expect((await agent.post(`${link}/${action}`, page, fields)).status).toBe(200);
    };
    await act(night.link, "promise", { date: day(night.due, 3) });
    await act(optOut.link, "opt-out", { channel: "email" });
    await act(dispute.link, "dispute", { reason: "I paid this at the branch" });

    // After 21:00 the promise's confirmation waits for the window to open at 08:00.
    await h.advanceTo(instant(day(evening, 1), "07:55"));
    expect(sentSince(await h.messages(night.loanId), actedAt)).toEqual([]);
    await h.advanceTo(instant(day(evening, 1), "09:00"));
    const confirmed = sentSince(await h.messages(night.loanId), actedAt);
    expect(confirmed.map((m) => m.step)).toEqual(["confirmation"]);
    expect(Date.parse(confirmed[0]?.sentAt ?? "")).toBe(Date.parse(instant(day(evening, 1), "08:00")));

    // The link came by email, which the borrower just left; a dispute holds all contact. Both said on the record.
    for (const [{ loanId }, rule] of [
      [optOut, "channel_opted_out"],
      [dispute, "contact_hold"],
    ] as const) {
      expect(sentSince(await h.messages(loanId), actedAt)).toEqual([]);
      const withheld = (await h.audit(loanId)).filter((entry) => entry.type === "confirmation_withheld");
      expect(withheld.map((entry) => entry.data.rule)).toEqual([rule]);
    }
  });
});
