import { describe, expect, it } from "vitest";
import {
  casePage,
  donePage,
  escapeHtml,
  lockedPage,
  notFoundPage,
  PORTAL_CSS,
  verifyPage,
} from "../../functions/portal/pages.ts";
import { PORTAL_STRINGS } from "../../functions/portal/strings.ts";
import type { PortalCaseView, PortalFrame } from "../../functions/portal/view.ts";

const HOSTILE = `<script>alert(1)</script>"'&`;
const FRAME: PortalFrame = { basePath: "/p/tok_abc", csrfToken: "csrf-123" };

function caseView(overrides: Partial<PortalCaseView> = {}): PortalCaseView {
  return {
    locale: "en-US",
    loanReference: "LN-1",
    borrowerName: "Li Wei",
    amountDueNow: "¥1,250.00",
    dueDate: "2026-08-06",
    daysPastDue: 3,
    nextContact: { at: "2026-08-10 10:00", channels: ["sms", "email"] },
    paymentUrl: "https://lender.example/pay?loan=LN-1",
    channels: [
      { channel: "sms", optedOut: false },
      { channel: "email", optedOut: false },
    ],
    promise: { earliest: "2026-08-07", latest: "2026-08-21" },
    plans: [{ months: 3, installment: "¥416.66" }],
    planApproval: "lender",
    contactTime: { current: null, earliest: "08:00", latest: "21:00" },
    standing: null,
    ...overrides,
  };
}

/** Every page the portal renders, in both locales, with the hostile value wherever the view has text. */
function allPages(): string[] {
  const hostile = caseView({
    loanReference: HOSTILE,
    borrowerName: HOSTILE,
    amountDueNow: HOSTILE,
    dueDate: HOSTILE,
    nextContact: { at: HOSTILE, channels: [HOSTILE] },
    paymentUrl: `https://lender.example/pay?x=${encodeURIComponent(HOSTILE)}&y="'`,
    promise: { earliest: HOSTILE, latest: HOSTILE },
    standing: { kind: "promise", until: HOSTILE },
  });
  const frame = { basePath: `/p/${HOSTILE}`, csrfToken: HOSTILE };
  const notice = { action: "dispute" as const, message: HOSTILE };
  return [
    notFoundPage(),
    ...(["zh-CN", "en-US"] as const).flatMap((locale) => [
      lockedPage(locale),
      verifyPage({ locale, factor: "id_last4", wrongAnswer: { attemptsLeft: 2 } }, frame),
      casePage({ ...hostile, locale }, frame, notice),
      donePage({ action: "promise", date: HOSTILE }, locale, frame),
    ]),
  ];
}

const forms = (html: string) => [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/g)].map((m) => m[0]);

describe("the borrower page", () => {
  it("escapes every value of the view, attributes included", () => {
    for (const html of allPages()) {
      expect(html).not.toContain("<script");
      expect(html).not.toMatch(/"'&(?!amp;|lt;|gt;|quot;|#39;)/);
    }
    const html = casePage(caseView({ loanReference: HOSTILE, borrowerName: HOSTILE }), FRAME);
    expect(html).toContain(escapeHtml(HOSTILE));
    expect(escapeHtml(HOSTILE)).toBe("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;");
  });

  it("is a complete document with no script, no inline style, one h1 and a labelled input for every field", () => {
    for (const html of allPages()) {
      expect(html).toMatch(/^<!doctype html>\n<html lang="(zh-CN|en-US)">/);
      expect(html).toContain('<meta name="referrer" content="no-referrer">');
      expect(html).toContain('<link rel="stylesheet" href="portal.css">');
      expect(html).not.toMatch(/<script|<style|style=/i);
      expect(html.match(/<h1>/g)).toHaveLength(1);
      expect(html.match(/<main>/g)).toHaveLength(1);
      for (const [, id] of html.matchAll(/<(?:input|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"/g)) {
        expect(html).toContain(`<label for="${id}">`);
      }
      expect(html).not.toMatch(/<input(?![^>]*type="hidden")(?![^>]*\bid=)[^>]*>/);
    }
    expect(PORTAL_CSS).not.toMatch(/url\(|@import/);
  });

  it("writes each locale in its own words", () => {
    const zh = casePage(caseView({ locale: "zh-CN" }), FRAME);
    const en = casePage(caseView({ locale: "en-US" }), FRAME);
    expect(zh).toContain('<html lang="zh-CN">');
    expect(zh).toContain(PORTAL_STRINGS["zh-CN"].case.amountDue);
    expect(zh).toContain("已逾期 3 天");
    expect(en).toContain('<html lang="en-US">');
    expect(en).toContain(PORTAL_STRINGS["en-US"].case.amountDue);
    expect(en).not.toContain(PORTAL_STRINGS["zh-CN"].case.amountDue);
    expect(lockedPage("zh-CN")).toContain("请明天再试");
    const notFound = notFoundPage();
    expect(notFound).toContain("链接无效或已过期");
    expect(notFound).toContain("This link is not valid or has expired");
  });

  it("posts every form below the link's path with the CSRF field", () => {
    const pages = [
      casePage(caseView(), FRAME, { action: "opt-out", message: "x" }),
      verifyPage({ locale: "zh-CN", factor: "date_of_birth" }, FRAME),
    ];
    const all = pages.flatMap(forms);
    expect(all).toHaveLength(7); // promise, one plan, dispute, contact time, two opt-outs, verify
    for (const form of all) {
      expect(form).toMatch(
        /^<form method="post" action="\/p\/tok_abc\/(verify|promise|plan|dispute|contact-time|opt-out)">/,
      );
      expect(form).toContain('<input type="hidden" name="csrf" value="csrf-123">');
      expect(form).toContain('<button type="submit"');
    }
  });

  it("shows the pay link only for a web address the lender gave", () => {
    const link = casePage(caseView(), FRAME);
    expect(link).toContain(
      '<a class="button" href="https://lender.example/pay?loan=LN-1" rel="noopener noreferrer">',
    );
    expect(casePage(caseView({ paymentUrl: null }), FRAME)).not.toContain("<a ");
    expect(casePage(caseView({ paymentUrl: "javascript:alert(1)" }), FRAME)).not.toContain("<a ");
  });

  it("asks for the factor and says how many attempts are left after a wrong answer", () => {
    const html = verifyPage(
      { locale: "en-US", factor: "phone_last4", wrongAnswer: { attemptsLeft: 2 } },
      FRAME,
    );
    expect(html).toContain('<p class="alert" role="alert">');
    expect(html).toContain("You have 2 attempts left.");
    expect(html).toMatch(
      /<input type="text" id="answer" name="answer" required inputmode="numeric" pattern="\[0-9\]\{4\}"/,
    );
    expect(html).toContain('autocomplete="off"');
    expect(verifyPage({ locale: "zh-CN", factor: "id_last4" }, FRAME)).toContain('pattern="[0-9]{3}[0-9Xx]"');
    const dob = verifyPage({ locale: "zh-CN", factor: "date_of_birth" }, FRAME);
    expect(dob).toContain('<input type="date" id="answer" name="answer"');
    expect(dob).not.toContain('role="alert"');
  });

  it("bounds the promised date, and offers no promise form when none may be made", () => {
    const html = casePage(caseView(), FRAME);
    expect(html).toContain('name="date" required min="2026-08-07" max="2026-08-21"');
    expect(html).toContain('<textarea id="dispute-reason" name="reason" required maxlength="500"');
    const none = casePage(caseView({ promise: null, standing: { kind: "dispute" } }), FRAME);
    expect(none).not.toContain('name="date"');
    expect(none).toContain(PORTAL_STRINGS["en-US"].case.standingDispute);
  });

  it("offers opt-out only on channels still in use, and shows a notice beside its form", () => {
    const view = caseView({
      channels: [
        { channel: "sms", optedOut: true },
        { channel: "email", optedOut: false },
      ],
    });
    const html = casePage(view, FRAME, { action: "promise", message: "Pick a later date." });
    const optOuts = forms(html).filter((f) => f.includes("/opt-out"));
    expect(optOuts).toHaveLength(1);
    expect(optOuts[0]).toContain('<input type="hidden" name="channel" value="email">');
    expect(html).toContain("You have stopped SMS reminders.");
    const promise = html.slice(html.indexOf("Choose a date to pay"), html.indexOf("Question this amount"));
    expect(promise).toContain('<p class="alert" role="alert">Pick a later date.</p>');
    expect(casePage(caseView({ nextContact: null }), FRAME)).toContain("No reminder is planned");
  });

  it("confirms what was recorded and links back to the case", () => {
    const html = donePage({ action: "opt-out", channel: "sms" }, "zh-CN", FRAME);
    expect(html).toContain("您将不再收到短信提醒。");
    expect(html).toContain('href="/p/tok_abc"');
  });
});
