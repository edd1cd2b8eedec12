import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { BUILT_IN_TEMPLATES, type MessageTemplates } from "../../functions/domain/templates.ts";
import type { LocalStack } from "../../infra/local/stack.ts";
import { type apiClient, loanRequest } from "./client.ts";
import { startTestStack } from "./test-stack.ts";

/** Message templates as policy data: edited by ops, validated at save, sent from the case's policy version. */
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let ops: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
const prefix = `tpl-${randomBytes(4).toString("hex")}-`;
const tables = { stateTable: `${prefix}dunning-state`, auditTable: `${prefix}dunning-audit` };

beforeAll(async () => {
  ({ stack, lender, ops, local } = await startTestStack(prefix));
});

afterAll(async () => {
  await stack?.stop();
});

const NEW_SMS = "Hello {{name}}: {{amountDue}} falls due on {{dueDate}}. Reference {{paymentReference}}.";

/** The default's rules with `templates`, as ops would PUT them back after editing. */
const policyWith = (templates: MessageTemplates, comment: string) => ({
  steps: DEFAULT_POLICY.steps,
  handOff: DEFAULT_POLICY.handOff,
  contactWindow: DEFAULT_POLICY.contactWindow,
  templates,
  applyTo: "new_loans",
  comment,
});

/** A copy of `templates` with the reminder's en-US SMS body replaced. */
function withReminderSms(templates: MessageTemplates, body: string): MessageTemplates {
  const copy = structuredClone(templates);
  const english = copy.reminder?.["en-US"];
  if (!english) throw new Error("the reminder has no en-US texts");
  english.sms = { body };
  return copy;
}

describe("message templates in the policy", () => {
  it("shows the effective templates, stores an edited SMS text as a new version and sends it", async () => {
    const current = await ops.get("/v1/policies/default");
    expect(current.status).toBe(200);
    expect(current.body.templates).toEqual(BUILT_IN_TEMPLATES);

    const put = await ops.call(
      "PUT",
      "/v1/policies/default",
      policyWith(withReminderSms(current.body.templates, NEW_SMS), "plainer reminder SMS"),
    );
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ id: "default", version: 2 });
    expect((await ops.get("/v1/policies/default")).body.templates.reminder["en-US"].sms).toEqual({
      body: NEW_SMS,
    });

    // An en-US borrower in New York: pre_due_3 (D−3, SMS, reminder) goes out on 2026-01-12 at 10:00 local.
    const loanId = `tpl-${randomBytes(3).toString("hex")}`;
    const borrower = {
      name: "Jane Doe",
      email: "jane.doe@example.com",
      phone: "+12025550123",
      locale: "en-US",
      timeZone: "America/New_York",
    };
    const subscribed = await lender.post(
      "/v1/loans",
      loanRequest(loanId, { borrower, amountDue: { amount: "1250.00", currency: "USD" } }),
    );
    expect(subscribed.status).toBe(201);
    expect(subscribed.body.policy).toEqual({ id: "default", version: 2 });
    await local.post("/local/clock/advance", { to: "2026-01-13T00:00:00Z" });

    const messages = (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as {
      step: string;
      channel: string;
      body: string;
    }[];
    const sms = messages.find((m) => m.step === "pre_due_3" && m.channel === "sms");
    expect(sms?.body).toBe(
      `Hello Jane Doe: $1,250.00 falls due on January 15, 2026. Reference ${loanId}. Reply STOP to opt out.`,
    );
    // The email of pre_due_7 kept the built-in wording, opt-out notice included.
    const email = messages.find((m) => m.step === "pre_due_7" && m.channel === "email");
    expect(email?.body).toMatch(/^Dear Jane Doe,\n\nThis is a friendly reminder/);
    expect(email?.body.endsWith("\n\nTo stop these emails, reply with UNSUBSCRIBE.")).toBe(true);

    // The evidence names the template, its version (the policy version) and locale.
    const audit = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as {
      type: string;
      data: Record<string, unknown>;
    }[];
    const sent = audit.find((e) => e.type === "message_sent" && e.data.step === "pre_due_3");
    expect(sent?.data).toMatchObject({
      template: { id: "reminder", version: 2, locale: "en-US" },
      contentSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    // Who changed which text, with the wording before and after.
    const client = makeDocumentClient({ endpoint: inject("dynamoEndpoint") });
    const principal = await new DynamoApiKeyStore(client, tables).resolve(stack.keys.ops);
    const history = (await ops.get("/v1/policies/default/versions")).body.items;
    expect(history[0]).toMatchObject({
      version: 2,
      changedBy: `ops:${principal?.keyId}`,
      comment: "plainer reminder SMS",
      changes: [
        {
          path: "templates.reminder.en-US.sms",
          from: BUILT_IN_TEMPLATES.reminder?.["en-US"]?.sms,
          to: { body: NEW_SMS },
        },
      ],
    });
  });

  it("refuses an unknown variable with its path and stores nothing", async () => {
    const before = (await ops.get("/v1/policies/default")).body;
    const refused = await ops.call(
      "PUT",
      "/v1/policies/default",
      policyWith(withReminderSms(before.templates, "Hi {{name}}, you owe {{balance}}."), "typo"),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("VALIDATION_FAILED");
    expect(refused.body.error.details).toEqual([
      {
        path: "templates.reminder.en-US.sms.body",
        message: expect.stringMatching(/^unknown variable \{\{balance\}\}; known: \{\{name\}\}, /),
      },
    ]);
    const after = (await ops.get("/v1/policies/default")).body;
    expect(after.version).toBe(before.version);
    expect(after.templates).toEqual(before.templates);
    expect((await ops.get("/v1/policies/default/versions")).body.items).toHaveLength(2);
  });

  it("keeps the current templates when a PUT leaves them out", async () => {
    const { templates: _, ...stepsOnly } = policyWith({}, "steps only");
    const put = await ops.call("PUT", "/v1/policies/default", stepsOnly);
    expect(put.status).toBe(201);
    expect(put.body.version).toBe(3);
    expect(put.body.changes).toEqual([]);
    expect((await ops.get("/v1/policies/default")).body.templates.reminder["en-US"].sms).toEqual({
      body: NEW_SMS,
    });
  });
});
