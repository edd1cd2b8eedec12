import type { HandoffPackage, HandoffReason } from "../domain/handoff-package.ts";
import type { InstallmentStatus } from "../domain/installments.ts";
import { formatMoney, type Money } from "../domain/money.ts";
import { handOffLabel, LOCALES, type Locale } from "../domain/policy.ts";

/**
 * The hand-off package as one self-contained HTML page (inline CSS, no scripts, no external assets), in
 * the borrower's locale when we have one for it, otherwise en-US. Every value from the package is escaped.
 * What the package holds is the domain's (functions/domain/handoff-package.ts); this is only how it reads.
 */

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

interface Labels {
  title: string;
  reason: string;
  reasons: Record<HandoffReason, string>;
  handedOffAt: string;
  generatedAt: string;
  loan: string;
  borrower: string;
  name: string;
  email: string;
  phone: string;
  timeZone: string;
  amountDue: string;
  dueDate: string;
  daysPastDue: string;
  installments: string;
  installmentStatus: Record<InstallmentStatus, string>;
  balance: string;
  total: string;
  principal: string;
  fees: string;
  interest: string;
  totalPaid: string;
  waived: string;
  contacts: string;
  agreements: string;
  events: string;
  policies: string;
  chain: string;
  chainValid: string;
  chainInvalid: string;
  head: string;
  packageHash: string;
  none: string;
  cols: {
    seq: string;
    when: string;
    local: string;
    channel: string;
    to: string;
    step: string;
    template: string;
    result: string;
    content: string;
    type: string;
    actor: string;
    details: string;
    installment: string;
    amount: string;
    paid: string;
    status: string;
  };
}

const LABELS: Record<Locale, Labels> = {
  "en-US": {
    title: "Legal hand-off package",
    reason: "Reason",
    reasons: {
      policy: "Policy hand-off date reached",
      bankruptcy: "Bankruptcy",
      cease_contact: "Cease-contact request",
    },
    handedOffAt: "Handed off at",
    generatedAt: "Generated at",
    loan: "Loan",
    borrower: "Borrower",
    name: "Name",
    email: "Email",
    phone: "Phone",
    timeZone: "Time zone",
    amountDue: "Original amount",
    dueDate: "Due date",
    daysPastDue: "Days past due",
    installments: "Installments",
    installmentStatus: { upcoming: "Upcoming", due: "Due today", overdue: "Overdue", paid: "Paid" },
    balance: "Balance",
    total: "Total owed",
    principal: "Principal",
    fees: "Late fees",
    interest: "Penalty interest",
    totalPaid: "Total paid",
    waived: "Waived",
    contacts: "Contacts",
    agreements: "Agreements",
    events: "Events",
    policies: "Policies in force",
    chain: "Audit chain proof",
    chainValid: "Chain verified: every hash and link checks out.",
    chainInvalid: "Chain verification FAILED",
    head: "Chain head",
    packageHash: "Package hash",
    none: "None",
    cols: {
      seq: "#",
      when: "When (UTC)",
      local: "Borrower local",
      channel: "Channel",
      to: "To",
      step: "Step",
      template: "Template / policy",
      result: "Result",
      content: "Content SHA-256",
      type: "Type",
      actor: "Actor",
      details: "Details",
      installment: "Installment",
      amount: "Amount",
      paid: "Paid",
      status: "Status",
    },
  },
  "zh-CN": {
    title: "法律移交材料",
    reason: "移交原因",
    reasons: { policy: "已到策略规定的移交日期", bankruptcy: "破产", cease_contact: "要求停止联系" },
    handedOffAt: "移交时间",
    generatedAt: "生成时间",
    loan: "借款",
    borrower: "借款人",
    name: "姓名",
    email: "电子邮件",
    phone: "电话",
    timeZone: "时区",
    amountDue: "原始金额",
    dueDate: "到期日",
    daysPastDue: "逾期天数",
    installments: "分期",
    installmentStatus: { upcoming: "未到期", due: "今日到期", overdue: "已逾期", paid: "已还清" },
    balance: "余额",
    total: "应还总额",
    principal: "本金",
    fees: "滞纳金",
    interest: "罚息",
    totalPaid: "已还金额",
    waived: "已减免",
    contacts: "催收记录",
    agreements: "协议",
    events: "事件",
    policies: "适用策略",
    chain: "审计链证明",
    chainValid: "审计链校验通过：所有哈希与链接均一致。",
    chainInvalid: "审计链校验失败",
    head: "链头",
    packageHash: "材料哈希",
    none: "无",
    cols: {
      seq: "序号",
      when: "时间（UTC）",
      local: "借款人当地时间",
      channel: "渠道",
      to: "收件人",
      step: "步骤",
      template: "模板 / 策略",
      result: "结果",
      content: "内容 SHA-256",
      type: "类型",
      actor: "操作方",
      details: "详情",
      installment: "期数",
      amount: "金额",
      paid: "已还",
      status: "状态",
    },
  },
};

export function handoffLocale(pkg: Pick<HandoffPackage, "loan">): Locale {
  const locale = pkg.loan.borrower.locale;
  return LOCALES.includes(locale) ? locale : "en-US";
}

const CSS = `body{font-family:system-ui,sans-serif;margin:2rem;color:#111}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.875rem}
th{background:#f3f3f3}code{font-size:.75rem;word-break:break-all}
.bad{color:#a00;font-weight:bold}.ok{color:#060}`;

/** A table of rows under a header row, or "None" when there are no rows; cells are HTML already. */
function table(l: Labels, head: string[], rows: string[][]): string {
  const e = escapeHtml;
  return rows.length === 0
    ? `<p>${e(l.none)}</p>`
    : `<table><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join("")}</tr></thead><tbody>${rows
        .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`)
        .join("")}</tbody></table>`;
}

/** A labelled row of a facts table; the value is HTML already. */
const row = (label: string, value: string) => `<tr><th>${escapeHtml(label)}</th><td>${value}</td></tr>`;

/** The hand-off itself, the borrower, the loan and the balance breakdown, as label–value tables. */
function factsTables(pkg: HandoffPackage, l: Labels, locale: Locale): string {
  const e = escapeHtml;
  const m = (value: Money | null) => (value ? e(formatMoney(value, locale)) : "—");
  const { loan, balance } = pkg;
  const borrower = loan.borrower;
  return `<table>
${row(l.reason, `${e(l.reasons[pkg.reason])}<br>${e(pkg.reasonDetail)}`)}
${row(l.handedOffAt, e(pkg.handedOffAt))}
${row(l.generatedAt, e(pkg.generatedAt))}
${row(l.packageHash, `<code>${e(pkg.packageHash)}</code>`)}
</table>
<h2>${e(l.borrower)}</h2>
<table>
${row(l.name, e(borrower.name))}
${row(l.email, e(borrower.email ?? "—"))}
${row(l.phone, e(borrower.phone ?? "—"))}
${row(l.timeZone, e(borrower.timeZone))}
</table>
<h2>${e(l.loan)}</h2>
<table>
${row(l.amountDue, m(loan.amountDue))}
${row(l.dueDate, e(loan.dueDate))}
${row(l.daysPastDue, e(loan.daysPastDue))}
</table>
<h2>${e(l.balance)}</h2>
<table>
${row(l.total, m(balance.total))}
${row(l.principal, m(balance.principal))}
${row(l.fees, m(balance.fees))}
${row(l.interest, m(balance.interest))}
${row(l.totalPaid, m(balance.totalPaid))}
${row(l.waived, m(balance.waived))}
</table>`;
}

/** A schedule's installments, each with what was paid towards it and its status; nothing for a single payment. */
function installmentsSection(pkg: HandoffPackage, l: Labels, locale: Locale): string {
  const installments = pkg.loan.installments;
  if (!installments) return "";
  const e = escapeHtml;
  const c = l.cols;
  return `
<h2>${e(l.installments)} (${e(installments.length)})</h2>
${table(
  l,
  [c.installment, l.dueDate, c.amount, c.paid, c.status],
  installments.map((i) => [
    e(`${i.number}/${installments.length}`),
    e(i.dueDate),
    e(formatMoney(i.amount, locale)),
    e(formatMoney(i.paid, locale)),
    e(l.installmentStatus[i.status]),
  ]),
)}`;
}

/** Every contact attempt: when (UTC and borrower local), how, to whom, which step and versions, the result. */
function contactsTable(pkg: HandoffPackage, l: Labels): string {
  const e = escapeHtml;
  const c = l.cols;
  const head = [c.seq, c.when, c.local, c.channel, c.to, c.step, c.template, c.result, c.content];
  return table(
    l,
    head,
    pkg.contacts.map((contact) => [
      e(contact.seq),
      e(contact.sentAt ?? contact.at),
      e(contact.sentAtLocal ?? ""),
      e(contact.channel ?? ""),
      e(contact.to ?? ""),
      e(contact.step ?? ""),
      e(
        [
          contact.template
            ? `${contact.template.id} v${contact.template.version} (${contact.template.locale})`
            : "",
          contact.policy ? `${contact.policy.id} v${contact.policy.version}` : "",
        ]
          .filter(Boolean)
          .join(" / "),
      ),
      e(contact.reason ? `${contact.result}: ${contact.reason}` : contact.result),
      `<code>${e(contact.contentSha256 ?? "")}</code>`,
    ]),
  );
}

/** Agreements or events: seq, when, type, actor and the entry's data. */
function eventsTable(events: HandoffPackage["events"], l: Labels): string {
  const e = escapeHtml;
  return table(
    l,
    [l.cols.seq, l.cols.when, l.cols.type, l.cols.actor, l.cols.details],
    events.map((ev) => [
      e(ev.seq),
      e(ev.at),
      e(ev.type),
      e(ev.actor),
      `<code>${e(JSON.stringify(ev.data))}</code>`,
    ]),
  );
}

/** The chain proof: the verdict, the head, the algorithm and every entry's seq, prevHash and hash. */
function chainSection(pkg: HandoffPackage, l: Labels): string {
  const e = escapeHtml;
  const { chain } = pkg;
  const verdict = chain.verdict.valid
    ? `<p class="ok">${e(l.chainValid)}</p>`
    : `<p class="bad">${e(l.chainInvalid)}: seq ${e(chain.verdict.seq)} — ${e(chain.verdict.reason)}</p>`;
  return `<h2>${e(l.chain)}</h2>
${verdict}
<p>${e(l.head)}: seq ${e(chain.head.seq)} <code>${e(chain.head.hash)}</code></p>
<p><small>${e(chain.algorithm)}</small></p>
${table(
  l,
  ["seq", "prevHash", "hash"],
  chain.entries.map((c) => [e(c.seq), `<code>${e(c.prevHash)}</code>`, `<code>${e(c.hash)}</code>`]),
)}`;
}

export function renderHandoffHtml(pkg: HandoffPackage): string {
  const locale = handoffLocale(pkg);
  const l = LABELS[locale];
  const e = escapeHtml;
  return `<!DOCTYPE html>
<html lang="${e(locale)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(l.title)} — ${e(pkg.loanId)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${e(l.title)} — ${e(pkg.loanId)}</h1>
${factsTables(pkg, l, locale)}${installmentsSection(pkg, l, locale)}
<h2>${e(l.contacts)} (${e(pkg.contacts.length)})</h2>
${contactsTable(pkg, l)}
<h2>${e(l.agreements)} (${e(pkg.agreements.length)})</h2>
${eventsTable(pkg.agreements, l)}
<h2>${e(l.events)} (${e(pkg.events.length)})</h2>
${eventsTable(pkg.events, l)}
<h2>${e(l.policies)}</h2>
${table(
  l,
  ["id", "version", "hand-off", "contact window"],
  pkg.policies.map((p) => [
    e(p.id),
    e(p.version),
    e(`${handOffLabel(p.handOff)} ${p.handOff.at}`),
    e(`${p.contactWindow.start}–${p.contactWindow.end}`),
  ]),
)}
${chainSection(pkg, l)}
</body>
</html>
`;
}
