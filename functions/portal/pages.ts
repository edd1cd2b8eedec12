import type { Locale } from "../domain/channels.ts";
import { escapeHtml } from "../formats/handoff-html.ts";
import { PORTAL_STRINGS, type PortalStrings, portalStrings } from "./strings.ts";
import type { PortalAction, PortalCaseView, PortalFrame, PortalOutcome, VerifyView } from "./view.ts";

/**
 * The borrower page as complete HTML documents: pure functions of the view, no I/O. Pages carry no script and
 * no inline style, so the strict Content-Security-Policy the handler sends holds; the one stylesheet is
 * PORTAL_CSS, linked relatively (`portal.css`) so the page works under any path prefix (an API stage): the handler
 * serves it beside the link and beside its forms. Every interpolated value goes through escapeHtml.
 */

export { escapeHtml };

/** Mobile first: one column readable at 360 px, touch targets at least 48 px high, contrast above 4.5:1. */
export const PORTAL_CSS = `*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f4f6f8;color:#1a1a1a;font:1.0625rem/1.6 system-ui,-apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;line-height:1.3;margin:.5rem 0 1rem;overflow-wrap:anywhere}
h1 .translation{display:block;margin-top:.5rem;font-size:1.125rem;font-weight:normal}
h2{font-size:1.1875rem;line-height:1.4;margin:0 0 .5rem}
p{margin:0 0 .75rem;overflow-wrap:anywhere}
section{background:#fff;border:1px solid #d0d5db;border-radius:.5rem;padding:1rem;margin:0 0 1rem}
section>:last-child{margin-bottom:0}
dl{margin:0 0 .75rem}
dl div{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.25rem 1rem;padding:.375rem 0;border-bottom:1px solid #e3e6ea}
dt{color:#4a4a4a}
dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.amount{font-size:1.5rem}
.overdue{color:#8a1c1c;font-weight:600}
.hint{color:#4a4a4a;font-size:.9375rem}
label{display:block;font-weight:600;margin:0 0 .375rem}
input,textarea{display:block;width:100%;min-height:3rem;margin:0 0 .75rem;padding:.625rem .75rem;font:inherit;color:inherit;background:#fff;border:2px solid #6b7280;border-radius:.375rem}
textarea{min-height:7rem;resize:vertical}
button,.button{display:block;width:100%;min-height:3rem;padding:.75rem 1rem;font:inherit;font-weight:600;line-height:1.4;text-align:center;text-decoration:none;color:#fff;background:#0a4a9e;border:2px solid #0a4a9e;border-radius:.375rem;cursor:pointer}
button.secondary,.button.secondary{color:#0a4a9e;background:#fff}
form+form,form+p{margin-top:.75rem}
a{color:#0a4a9e}
a:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #f0b400;outline-offset:2px}
.alert{padding:.75rem 1rem;border-left:4px solid #8a1c1c;border-radius:.25rem;background:#fdecec;color:#8a1c1c;font-weight:600}
.done{padding:.75rem 1rem;border-left:4px solid #0d5c2e;border-radius:.25rem;background:#e6f4ea;color:#0d5c2e}
@media (min-width:40rem){main{padding:2rem 1rem}button,.button{display:inline-block;width:auto;min-width:14rem}}
`;

const e = escapeHtml;

/** The document around a page's content; the content holds the page's one h1. */
function documentOf(lang: Locale, title: string, content: string): string {
  return `<!doctype html>
<html lang="${e(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${e(title)}</title>
<link rel="stylesheet" href="portal.css">
</head>
<body>
<main>
${content}
</main>
</body>
</html>
`;
}

const paragraph = (text: string, className?: string) =>
  className ? `<p class="${e(className)}">${e(text)}</p>` : `<p>${e(text)}</p>`;

const alertOf = (message: string) => `<p class="alert" role="alert">${e(message)}</p>`;

const section = (heading: string, content: string) =>
  `<section>\n<h2>${e(heading)}</h2>\n${content}\n</section>`;

const hidden = (name: string, value: string) => `<input type="hidden" name="${e(name)}" value="${e(value)}">`;

/** A form posting below the link's path, with the session's CSRF token; `fields` is HTML already. */
function postForm(
  frame: PortalFrame,
  action: PortalAction | "verify",
  fields: string,
  submit: string,
  secondary = false,
): string {
  const button = secondary ? '<button type="submit" class="secondary">' : '<button type="submit">';
  return `<form method="post" action="${e(`${frame.basePath}/${action}`)}">
${hidden("csrf", frame.csrfToken)}
${fields}
${button}${e(submit)}</button>
</form>`;
}

/** Only a web address may become the pay link: a `javascript:` or `data:` one from the lender never does. */
function webAddress(url: string | null): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

const channelName = (s: PortalStrings, channel: string) =>
  channel === "sms" || channel === "email" ? s.channel[channel] : channel;

/** For a mistyped, expired or revoked link: the same page for each, in both languages, naming nothing. */
export function notFoundPage(): string {
  const zh = PORTAL_STRINGS["zh-CN"].notFound;
  const en = PORTAL_STRINGS["en-US"].notFound;
  return documentOf(
    "zh-CN",
    `${zh.title} · ${en.title}`,
    `<h1>${e(zh.heading)}<span class="translation" lang="en-US">${e(en.heading)}</span></h1>
${paragraph(zh.body)}
<p lang="en-US">${e(en.body)}</p>`,
  );
}

/** After too many wrong answers: the link stays locked for the day. */
export function lockedPage(locale: Locale): string {
  const s = portalStrings(locale);
  return documentOf(s.lang, s.locked.title, `<h1>${e(s.locked.heading)}</h1>\n${paragraph(s.locked.body)}`);
}

/** The answer field for the factor asked; `invalid` marks it after a wrong answer. */
function answerField(view: VerifyView, s: PortalStrings): string {
  const label = `<label for="answer">${e(s.verify.label[view.factor])}</label>`;
  const invalid = view.wrongAnswer ? ' aria-invalid="true"' : "";
  if (view.factor === "date_of_birth") {
    return `${label}\n<input type="date" id="answer" name="answer" required autocomplete="bday"${invalid}>`;
  }
  const digits = 'inputmode="numeric" pattern="[0-9]{4}"';
  // A Chinese resident ID number may end in the check letter X, which a numeric keypad cannot type.
  const idChars =
    'inputmode="text" pattern="[0-9]{3}[0-9Xx]" autocapitalize="characters" aria-describedby="answer-hint"';
  const isId = view.factor === "id_last4";
  const hint = isId ? `\n<p class="hint" id="answer-hint">${e(s.verify.idHint)}</p>` : "";
  return `${label}${hint}
<input type="text" id="answer" name="answer" required ${isId ? idChars : digits} minlength="4" maxlength="4" autocomplete="off" spellcheck="false"${invalid}>`;
}

/** Who the borrower is, asked before anything of the loan is shown. */
export function verifyPage(view: VerifyView, frame: PortalFrame): string {
  const s = portalStrings(view.locale);
  const error = view.wrongAnswer ? `${alertOf(s.verify.wrongAnswer(view.wrongAnswer.attemptsLeft))}\n` : "";
  const content = `<h1>${e(s.verify.heading)}</h1>
${paragraph(s.verify.intro)}
${error}${postForm(frame, "verify", answerField(view, s), s.verify.submit)}`;
  return documentOf(s.lang, s.verify.title, content);
}

/** The amount due, how late it is, and the way to pay when the lender gave one. */
function dueSection(view: PortalCaseView, s: PortalStrings): string {
  const c = s.case;
  const rows = `<dl>
<div><dt>${e(c.amountDue)}</dt><dd class="amount">${e(view.amountDueNow)}</dd></div>
<div><dt>${e(c.dueDate)}</dt><dd>${e(view.dueDate)}</dd></div>
</dl>`;
  const late = view.daysPastDue > 0 ? `\n${paragraph(c.daysPastDue(view.daysPastDue), "overdue")}` : "";
  const url = webAddress(view.paymentUrl);
  const pay = url
    ? `\n<p><a class="button" href="${e(url)}" rel="noopener noreferrer">${e(c.pay)}</a></p>\n${paragraph(c.payNote, "hint")}`
    : "";
  return section(c.dueHeading, `${rows}${late}${pay}`);
}

function nextContactSection(view: PortalCaseView, s: PortalStrings): string {
  const next = view.nextContact;
  const text = next
    ? s.case.nextContact(next.at, next.channels.map((ch) => channelName(s, ch)).join(s.listSeparator))
    : s.case.noContact;
  return section(s.case.nextContactHeading, paragraph(text));
}

function standingSection(view: PortalCaseView, s: PortalStrings): string {
  const standing = view.standing;
  if (!standing) return "";
  const text = standing.kind === "promise" ? s.case.standingPromise(standing.until) : s.case.standingDispute;
  return section(s.case.standingHeading, paragraph(text));
}

/** The promise form when a promise may be made now; a notice about a promise shows even when it may not. */
function promiseSection(view: PortalCaseView, frame: PortalFrame, s: PortalStrings, notice: string): string {
  const c = s.case;
  const range = view.promise;
  if (!range && !notice) return "";
  const field = range
    ? `<label for="promise-date">${e(c.promiseLabel)}</label>
<input type="date" id="promise-date" name="date" required min="${e(range.earliest)}" max="${e(range.latest)}">`
    : "";
  const form = range ? `\n${postForm(frame, "promise", field, c.promiseSubmit)}` : "";
  return section(c.promiseHeading, `${paragraph(c.promiseIntro)}${notice}${form}`);
}

function disputeSection(frame: PortalFrame, s: PortalStrings, notice: string): string {
  const c = s.case;
  const field = `<label for="dispute-reason">${e(c.disputeLabel)}</label>
<p class="hint" id="dispute-hint">${e(c.disputeHint)}</p>
<textarea id="dispute-reason" name="reason" required maxlength="500" rows="4" aria-describedby="dispute-hint"></textarea>`;
  return section(
    c.disputeHeading,
    `${paragraph(c.disputeIntro)}${notice}\n${postForm(frame, "dispute", field, c.disputeSubmit)}`,
  );
}

/** One form per plan the policy offers for what is owed; none while the case is on hold. */
function planSection(view: PortalCaseView, frame: PortalFrame, s: PortalStrings, notice: string): string {
  const c = s.case;
  if (view.plans.length === 0 && !notice) return "";
  const forms = view.plans.map(({ months, installment }) =>
    postForm(
      frame,
      "plan",
      `${hidden("months", String(months))}\n${paragraph(c.planOption(months, installment))}`,
      c.planSubmit(months),
      true,
    ),
  );
  return section(c.planHeading, `${paragraph(c.planIntro)}${notice}\n${forms.join("\n")}`);
}

/** The time of day reminders come at, inside the contact window; empty goes back to the policy's times. */
function contactTimeSection(
  view: PortalCaseView,
  frame: PortalFrame,
  s: PortalStrings,
  notice: string,
): string {
  const c = s.case;
  const time = view.contactTime;
  if (!time && !notice) return "";
  const current = time?.current ? paragraph(c.timeCurrent(time.current)) : "";
  const field = time
    ? `<label for="contact-time">${e(c.timeLabel)}</label>
<input type="time" id="contact-time" name="time" min="${e(time.earliest)}" max="${e(time.latest)}" step="900" value="${e(time.current ?? "")}">`
    : "";
  const form = time ? `\n${postForm(frame, "contact-time", field, c.timeSubmit, true)}` : "";
  const intro = time ? paragraph(c.timeIntro(time.earliest, time.latest)) : "";
  return section(c.timeHeading, `${intro}${current}${notice}${form}`);
}

/** One form per channel still in use; a line for each channel already stopped. */
function optOutSection(view: PortalCaseView, frame: PortalFrame, s: PortalStrings, notice: string): string {
  const c = s.case;
  if (view.channels.length === 0 && !notice) return "";
  const lines = view.channels.map(({ channel, optedOut }) => {
    const name = channelName(s, channel);
    return optedOut
      ? paragraph(c.optedOut(name))
      : postForm(frame, "opt-out", hidden("channel", channel), c.optOutSubmit(name), true);
  });
  return section(c.optOutHeading, `${paragraph(c.optOutIntro)}${notice}\n${lines.join("\n")}`);
}

/**
 * The case as the borrower sees it once verified. A notice (the answer to the last post, e.g. a date out of
 * range) shows beside the form of its action.
 */
export function casePage(
  view: PortalCaseView,
  frame: PortalFrame,
  notice?: { action: PortalAction; message: string },
): string {
  const s = portalStrings(view.locale);
  const noticeFor = (action: PortalAction) =>
    notice?.action === action ? `\n${alertOf(notice.message)}` : "";
  const content = [
    `<h1>${e(s.case.heading(view.loanReference))}</h1>`,
    paragraph(s.case.greeting(view.borrowerName)),
    dueSection(view, s),
    standingSection(view, s),
    nextContactSection(view, s),
    promiseSection(view, frame, s, noticeFor("promise")),
    planSection(view, frame, s, noticeFor("plan")),
    disputeSection(frame, s, noticeFor("dispute")),
    contactTimeSection(view, frame, s, noticeFor("contact-time")),
    optOutSection(view, frame, s, noticeFor("opt-out")),
  ];
  return documentOf(s.lang, s.case.title, content.filter(Boolean).join("\n"));
}

function outcomeMessage(outcome: PortalOutcome, s: PortalStrings): string {
  switch (outcome.action) {
    case "promise":
      return s.done.promise(outcome.date);
    case "dispute":
      return s.done.dispute;
    case "opt-out":
      return s.done.optOut(channelName(s, outcome.channel));
    case "contact-time":
      return s.done.contactTime(outcome.time);
    case "plan":
      return outcome.approval === "automatic"
        ? s.done.planApplied(outcome.months)
        : s.done.planSent(outcome.months);
  }
}

/** What was recorded, and the way back to the case. */
export function donePage(outcome: PortalOutcome, locale: Locale, frame: PortalFrame): string {
  const s = portalStrings(locale);
  const content = `<h1>${e(s.done.heading)}</h1>
<p class="done" role="status">${e(outcomeMessage(outcome, s))}</p>
<p><a class="button secondary" href="${e(frame.basePath)}">${e(s.done.back)}</a></p>`;
  return documentOf(s.lang, s.done.title, content);
}
