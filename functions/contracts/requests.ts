// Mobile metadata: the phone is for SMS, so a number that cannot be a mobile is refused at the edge.

import { isValidPhoneNumber } from "libphonenumber-js/mobile";
import { DateTime } from "luxon";
import * as z from "zod";
import { TENANT_SCOPE } from "../domain/audit-chain.ts";
import { channelSpec } from "../domain/channels.ts";
import { NO_CHARGES } from "../domain/charges.ts";
import { exceedsMaxAmount, isKnownCurrency, MAX_AMOUNT, minorUnits } from "../domain/money.ts";
import {
  CAPS_SCOPES,
  type CallRulesChoice,
  CHANNELS,
  type FirstNotice,
  type HandOffRule,
  LOCALES,
  type PolicyStep,
  rulesOf,
} from "../domain/policy.ts";
import type { PolicyRules } from "../domain/policy-validation.ts";
import { normalizeFactor } from "../domain/portal.ts";
import { termsIssues } from "../domain/schedule.ts";
import { DEFAULT_SELF_SERVICE, type SelfService } from "../domain/self-service.ts";
import { CUSTOMER_TYPES, GRADES } from "../domain/strategies/strategy.ts";
import type { MessageTemplates } from "../domain/templates.ts";
import { canonicalTimeZone } from "../domain/time.ts";
import { type BatchEntry, MAX_BATCH_LOANS } from "../usecases/ingest.ts";

/** Request schemas of the public contract. Everything a client sends is checked here, at the edge. */

const decimalString = /^(0|[1-9]\d*)(\.\d{1,4})?$/;

/** Every amount a client sends is at most MAX_AMOUNT, so no balance or report total can outgrow the Money schema. */
export const moneySchema = z
  .strictObject({
    amount: z
      .string()
      .regex(decimalString, 'must be a decimal string such as "1250.00"')
      .refine(
        // A very long digit string is over the limit without being read as a number.
        (amount) => !decimalString.test(amount) || (amount.length <= 32 && !exceedsMaxAmount(amount)),
        `must be at most ${MAX_AMOUNT}, the largest amount accepted`,
      ),
    currency: z.string().refine(isKnownCurrency, "must be an ISO 4217 currency code such as CNY"),
  })
  .superRefine((value, ctx) => {
    if (!isKnownCurrency(value.currency)) return;
    const places = value.amount.split(".")[1]?.length ?? 0;
    if (places > minorUnits(value.currency)) {
      ctx.addIssue({
        code: "custom",
        path: ["amount"],
        message: `${value.currency} has ${minorUnits(value.currency)} decimal places`,
      });
    }
  });

export const positiveMoney = moneySchema.refine((m) => Number(m.amount) > 0, {
  message: "must be greater than zero",
  path: ["amount"],
});

export const calendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  .refine((value) => DateTime.fromISO(value).isValid, "is not a calendar date")
  .refine((value) => value >= "2000-01-01" && value <= "2100-12-31", "must be between 2000 and 2100");

export const instant = z.iso.datetime({ offset: true, message: "must be an ISO 8601 timestamp" });

export const loanId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, "1-128 characters: letters, digits and . _ : -");

export const policyId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, _ and -");
/** The id of a policy application job (`apply-v<version>`), as the path names it. */
export const applicationJobId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, _ and -");

/** A subscription's fields, each checked on its own; subscribeSchema adds the rules across its terms. */
const subscriptionFields = z.strictObject({
  // The tenant's own audit chain is exported under TENANT_SCOPE, as a loan would be: no loan may take that id.
  loanId: loanId.refine(
    (id) => id !== TENANT_SCOPE,
    `${TENANT_SCOPE} is reserved for the tenant's own audit trail`,
  ),
  borrower: z
    .strictObject({
      // A name goes into messages and their headers: no control characters (CR, LF, tab…).
      name: z
        .string()
        .trim()
        .min(1, "is required")
        .max(200)
        .regex(/^[^\p{Cc}]*$/u, "must not contain control characters such as line breaks"),
      email: z.email("must be an email address").max(254).optional(),
      phone: z
        .string()
        .refine(
          (p) => /^\+\d{6,15}$/.test(p) && isValidPhoneNumber(p),
          "must be a valid E.164 mobile number, e.g. +8613800138000",
        )
        .optional(),
      locale: z.enum(LOCALES),
      // Stored in its canonical spelling, so one zone is always written one way.
      timeZone: z.string().transform((zone, ctx) => {
        const canonical = canonicalTimeZone(zone);
        if (canonical) return canonical;
        ctx.addIssue({ code: "custom", message: "must be an IANA time zone such as Asia/Shanghai" });
        return z.NEVER;
      }),
      // How the borrower proves who they are on the self-service page; stored only as a salted hash.
      verification: z
        .strictObject({
          type: z.enum(["date_of_birth", "id_last4"]),
          value: z.string().max(32),
        })
        .refine((v) => normalizeFactor(v.type, v.value) !== null, {
          message: "date_of_birth as YYYY-MM-DD, id_last4 as the last four digits or letters of the ID",
          path: ["value"],
        })
        .optional(),
    })
    .refine((b) => b.email !== undefined || b.phone !== undefined, {
      message: "at least one of email or phone is required",
      path: ["email"],
    }),
  amountDue: positiveMoney.optional(),
  dueDate: calendarDate.optional(),
  // The count (2 to 360) is one of the terms' rules below: one message for one rule, however far off.
  schedule: z.array(z.strictObject({ dueDate: calendarDate, amount: positiveMoney })).optional(),
  // Absent: the tenant's active strategy chooses (the default policy without one).
  policyId: policyId.optional(),
  risk: z
    .strictObject({ score: z.number().int().min(0).max(1000), grade: z.enum(GRADES).optional() })
    .optional(),
  product: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[^\p{Cc}]*$/u, "must not contain control characters such as line breaks")
    .optional(),
});

const TERMS = ["amountDue", "dueDate", "schedule"];
const isPlainObject = (value: unknown) =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `POST /v1/loans`. The form, order, currency and sum of the terms are the rules the domain applies, with their
 * paths; checked only on terms whose fields are well formed, so a bad amount is reported once, by its own field.
 */
export const subscribeSchema = subscriptionFields.superRefine(
  (request, ctx) => {
    for (const issue of termsIssues(request)) {
      ctx.addIssue({ code: "custom", path: issue.path.split("."), message: issue.message });
    }
  },
  {
    // Only on a body that is an object at all (anything else is refused by its type alone).
    when: (payload) =>
      isPlainObject(payload.value) &&
      !payload.issues.some((issue) => TERMS.includes(String(issue.path?.[0]))),
  },
);

/** `POST /v1/loans:batch`: the envelope only; each loan is validated on its own so one bad loan fails alone. */
export const loanBatchSchema = z.strictObject({
  loans: z
    .array(z.unknown())
    .min(1, "send at least one loan")
    .max(MAX_BATCH_LOANS, `at most ${MAX_BATCH_LOANS} loans per batch`),
});

/**
 * One loan of a batch (or an import line) checked with subscribeSchema. Detail paths are prefixed with `prefix`
 * (e.g. `loans.3`) so they point into the request the caller sent.
 */
export function batchEntry(value: unknown, prefix: string): BatchEntry {
  const parsed = subscribeSchema.safeParse(value);
  if (parsed.success) return { loanId: parsed.data.loanId, request: parsed.data };
  const raw = (value ?? {}) as { loanId?: unknown };
  return {
    loanId: typeof raw.loanId === "string" ? raw.loanId : null,
    invalid: {
      code: "VALIDATION_FAILED",
      message: "the loan is not valid",
      details: parsed.error.issues.map((issue) => ({
        path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
        message: issue.message,
      })),
    },
  };
}

const channel = z.enum(CHANNELS);
/** Text that may reach a message, a header or a log line: no control characters at all. */
const singleLine = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, "must not contain control characters such as line breaks");
const base = { occurredAt: instant.optional(), eventId: singleLine(128).min(1).optional() };

/** Every event type of the contract; the domain decides which the case's state allows. */
export const eventSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("payment"), amount: positiveMoney, ...base }),
  z.strictObject({ type: z.literal("payment_reversed"), amount: positiveMoney, ...base }),
  z.strictObject({
    type: z.literal("promise_to_pay"),
    amount: positiveMoney,
    promisedDate: calendarDate,
    ...base,
  }),
  z.strictObject({ type: z.literal("grace_extension"), newDueDate: calendarDate, ...base }),
  z.strictObject({
    type: z.literal("installment_plan"),
    installments: z
      .array(z.strictObject({ dueDate: calendarDate, amount: positiveMoney }))
      .min(1)
      .max(120),
    ...base,
  }),
  z.strictObject({ type: z.literal("settlement"), amount: positiveMoney, payBy: calendarDate, ...base }),
  z.strictObject({ type: z.literal("dispute_opened"), ...base }),
  z.strictObject({ type: z.literal("dispute_resolved"), ...base }),
  z.strictObject({ type: z.literal("bankruptcy"), ...base }),
  z.strictObject({ type: z.literal("deceased"), ...base }),
  z.strictObject({ type: z.literal("cease_contact"), ...base }),
  z.strictObject({ type: z.literal("opt_out"), channel, ...base }),
  z.strictObject({ type: z.literal("opt_in"), channel, ...base }),
  z.strictObject({ type: z.literal("withdrawn"), ...base }),
  z.strictObject({
    type: z.literal("customer_type_assessed"),
    customerType: z.enum(CUSTOMER_TYPES),
    reason: singleLine(500).optional(),
    ...base,
  }),
  z.strictObject({ type: z.literal("consent_recorded"), scope: z.literal("third_party_sharing"), ...base }),
]);

export const listQuerySchema = z.strictObject({
  status: z.enum(["active", "on_hold", "paid", "settled", "legal", "closed"]).optional(),
  stage: z.enum(["pre_due", "soft_collection", "legal", "done"]).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(2048).optional(),
  /** `true`: only cases whose workflow failed and waits for a restart. */
  attention: z
    .enum(["true", "false"])
    .transform((value) => value === "true")
    .optional(),
});

const hhmm = z.string().max(5);
/** Generous bounds on the shape only; the domain applies the real per-text limits and the template rules. */
const templateText = z
  .string()
  .max(10_000)
  // Line breaks are a message's own; any other control character (a CR that splits a header, a NUL) is not.
  .regex(/^(?:[^\p{Cc}]|\n)*$/u, "must not contain control characters other than line breaks (\\n)");
/** Each channel's message as its spec has it: the parts it names, each a template text. */
const localeTemplates = z.strictObject(
  Object.fromEntries(
    CHANNELS.map((channel) => [
      channel,
      z
        .strictObject(
          Object.fromEntries(Object.keys(channelSpec(channel).parts).map((part) => [part, templateText])),
        )
        .optional(),
    ]),
  ),
);
const templateSet = z.strictObject({
  "zh-CN": localeTemplates.optional(),
  "en-US": localeTemplates.optional(),
});
const MAX_TEMPLATES = 50;
const stepOrTemplateId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters: letters, digits, _ and -");
/** A policy's shape; its values (order, window, templates...) are checked by the domain (policy-validation.ts). */
export const policyUpdateSchema = z.strictObject({
  steps: z
    .array(
      z.strictObject({
        id: stepOrTemplateId,
        stage: z.string().max(32),
        offsetDays: z.number().int("must be a whole number of days"),
        sendAt: hhmm,
        channels: z.array(z.string().max(16)).max(4),
        // A call or visit step has no template (its task is for the collection team).
        template: z.string().max(64).default(""),
        task: z.string().max(16).optional(),
      }),
    )
    .max(100),
  callRules: z
    .strictObject({ rulePack: z.string().max(32), overrides: z.record(z.string(), z.number()).optional() })
    .optional(),
  handOff: z
    .strictObject({
      offsetDays: z.number().int("must be a whole number of days").optional(),
      // The contract's name for offsetDays: the policy stores and answers offsetDays.
      afterDaysPastDue: z.number().int("must be a whole number of days").optional(),
      at: hhmm,
      minDaysAfterFirstContact: z.number().int("must be a whole number of days").optional(),
      afterMissedInstallments: z.number().int("must be a whole number of installments").optional(),
    })
    .superRefine((handOff, ctx) => {
      const given = [handOff.offsetDays, handOff.afterDaysPastDue].filter((v) => v !== undefined).length;
      if (given !== 1)
        ctx.addIssue({
          code: "custom",
          path: ["offsetDays"],
          message: "give the days past due once, as offsetDays or afterDaysPastDue",
        });
    }),
  contactWindow: z.strictObject({ start: hhmm, end: hhmm }),
  maxLateness: z.string().max(32).optional(),
  firstNotice: z
    .strictObject({ channels: z.array(z.string().max(16)).max(4), template: z.string().max(64) })
    .optional(),
  charges: z
    .strictObject({
      lateFee: z.string().max(32),
      lateFeeAfterDays: z.number().int(),
      dailyPenaltyRate: z.string().max(32),
      capPercentOfPrincipal: z.string().max(32),
    })
    .optional(),
  contactRules: z
    .strictObject({
      caps: z
        .strictObject({
          smsPerDay: z.number().int().optional(),
          contactsPer7Days: z.number().int().optional(),
        })
        .optional(),
      quietDates: z.array(z.string().max(10)).max(366).optional(),
      quietWeekdays: z.array(z.number().int()).max(7).optional(),
      fallback: z.boolean().optional(),
      capsPer: z.enum(CAPS_SCOPES).optional(),
    })
    .optional(),
  // What borrowers may do on their page; fields left out take the defaults (DEFAULT_SELF_SERVICE).
  selfService: z
    .strictObject({
      maxPromiseDays: z.number().optional(),
      linkDays: z.number().optional(),
      planOffers: z
        .array(z.strictObject({ months: z.number(), minInstallment: z.string().max(32) }))
        .max(20)
        .optional(),
      planApproval: z.string().max(16).optional(),
    })
    .optional(),
  /** Left out: the current version's templates are kept. */
  templates: z
    .record(stepOrTemplateId, templateSet)
    .refine(
      (templates) => Object.keys(templates).length <= MAX_TEMPLATES,
      `at most ${MAX_TEMPLATES} templates`,
    )
    .optional(),
  applyTo: z.enum(["new_loans", "in_flight"]).default("new_loans"),
  comment: singleLine(500).optional(),
  // A policy read with GET can be edited and sent back as it is: its id must be the path's, its version is
  // assigned by the server (the next one) and otherwise ignored.
  id: z.string().max(64).optional(),
  version: z.number().int().optional(),
});

/** The policy a request describes; the schema checked its shape, the domain checks its values. */
export function toPolicyRules(request: z.infer<typeof policyUpdateSchema>): PolicyRules {
  return {
    // Stage and channel names are checked by validatePolicy, with the step's path in the message.
    steps: request.steps as PolicyStep[],
    handOff: handOffRule(request.handOff),
    contactWindow: request.contactWindow,
    charges: request.charges ?? NO_CHARGES,
    contactRules: rulesOf({ contactRules: request.contactRules }),
    // The schema is built from the channel specs, so its type is wider than the parts it admits.
    ...(request.templates ? { templates: request.templates as MessageTemplates } : {}),
    ...(request.maxLateness !== undefined ? { maxLateness: request.maxLateness } : {}),
    ...(request.firstNotice ? { firstNotice: request.firstNotice as FirstNotice } : {}),
    ...(request.callRules ? { callRules: request.callRules as CallRulesChoice } : {}),
    // The values are checked by the domain (checkSelfService), with their paths.
    ...(request.selfService
      ? { selfService: { ...DEFAULT_SELF_SERVICE, ...request.selfService } as SelfService }
      : {}),
  };
}

/** The hand-off as the policy holds it: the days past due as offsetDays, whichever name the request used. */
function handOffRule(request: z.infer<typeof policyUpdateSchema>["handOff"]): HandOffRule {
  const { afterDaysPastDue, offsetDays, ...rest } = request;
  return { ...rest, offsetDays: (offsetDays ?? afterDaysPastDue) as number };
}
