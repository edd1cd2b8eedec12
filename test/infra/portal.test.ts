import { Stack } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp, type DunningApp } from "../../infra/aws/build-app.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import { idOf, logicalId, roleId, synthesizeApp } from "./synthesized-app.ts";
import { actionsOf, flat, SKIP_BUNDLING, type Statement } from "./template-helpers.ts";

/** The borrowers' page on AWS: `/p/{proxy+}` on the API's stage → the portal function. */
let built: DunningApp;
let service: Template;
let serviceRoles: Map<string, Statement[]>;

beforeAll(() => {
  ({ built, service, serviceRoles } = synthesizeApp());
});

const portalFunction = () => built.service.portal.portalFunction;
const resources = () => service.toJSON().Resources;
const variables = (fn: DunningFunction): Record<string, unknown> =>
  resources()[logicalId(fn)]?.Properties.Environment.Variables;
const allowed = (fn: DunningFunction) =>
  (serviceRoles.get(roleId(fn)) ?? []).filter((s) => s.Effect === "Allow").flatMap(actionsOf);

describe("the portal function", () => {
  it("has a role of its own", () => {
    const fn = portalFunction();
    expect(resources()[logicalId(fn)]?.Properties.Role).toEqual({ "Fn::GetAtt": [roleId(fn), "Arn"] });
    const roles = Object.values(service.findResources("AWS::Lambda::Function")).map((r) =>
      flat(r.Properties.Role),
    );
    expect(roles.filter((role) => role === `<${roleId(fn)}.Arn>`)).toHaveLength(1);
  });

  it("may not send, read or write objects, scan or query: items by key, executions of the workflow", () => {
    const actions = allowed(portalFunction());
    expect(actions.filter((a) => /^(s3|sns|ses):/.test(a) || a === "*")).toEqual([]);
    expect(actions).not.toContain("dynamodb:Scan");
    expect(actions).not.toContain("dynamodb:Query");
    expect(actions).toEqual(
      expect.arrayContaining([
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "states:StartExecution",
        "states:StopExecution",
      ]),
    );
  });

  it("keeps its cookies Secure and cannot reach loopback webhooks", () => {
    const env = variables(portalFunction());
    expect(env).not.toHaveProperty("WEBHOOK_ALLOW_LOOPBACK");
    expect([undefined, "true"]).toContain(env.PORTAL_SECURE_COOKIES);
  });
});

describe("the route", () => {
  it("serves /p/{proxy+} with the portal function, without an authorizer or an API key", () => {
    const pathOf = (id: string): string => {
      const props = resources()[id]?.Properties;
      return props.ParentId?.Ref ? `${pathOf(props.ParentId.Ref)}/${props.PathPart}` : `/${props.PathPart}`;
    };
    const page = Object.keys(service.findResources("AWS::ApiGateway::Resource")).find(
      (id) => pathOf(id) === "/p/{proxy+}",
    );
    expect(page).toBeDefined();
    const methods = Object.values(service.findResources("AWS::ApiGateway::Method"))
      .map((r) => r.Properties)
      .filter((m) => m.ResourceId.Ref === page);
    expect(methods.map((m) => m.HttpMethod).sort()).toEqual(["GET", "POST"]);
    for (const method of methods) {
      expect(method).toMatchObject({ AuthorizationType: "NONE", Integration: { Type: "AWS_PROXY" } });
      expect(method.AuthorizerId).toBeUndefined();
      expect(method.ApiKeyRequired).toBeFalsy();
      expect(flat(method.Integration.Uri)).toContain(`<${logicalId(portalFunction())}.Arn>`);
    }
  });
});

describe("links in messages", () => {
  it("give the send function the page's base: the API stage's URL by default", () => {
    const api = idOf(built.service.httpApi.api);
    expect(flat(variables(built.service.workflow.sendFunction).PORTAL_BASE_URL)).toBe(
      `https://<${api}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/prod`,
    );
  });

  it("take the lender's own domain from -c portalBaseUrl, https only", () => {
    const context = { ...SKIP_BUNDLING, portalBaseUrl: "https://pay.lender.example/" };
    const { service: stack } = buildApp({ context });
    const send = stack.workflow.sendFunction.node.defaultChild as CfnFunction;
    expect(Stack.of(send).resolve(send.environment)).toMatchObject({
      variables: { PORTAL_BASE_URL: "https://pay.lender.example" },
    });
    expect(() =>
      buildApp({ context: { ...SKIP_BUNDLING, portalBaseUrl: "http://pay.lender.example" } }),
    ).toThrow(/portalBaseUrl/);
  });
});
