import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import { logicalId, roleId, synthesizeApp } from "./synthesized-app.ts";
import { actionsOf, flat, type Statement } from "./template-helpers.ts";

/** The ops console on AWS: `/console` and `/console/{proxy+}` on the API's stage → a function serving its files. */
let built: DunningApp;
let service: Template;
let serviceRoles: Map<string, Statement[]>;

beforeAll(() => {
  ({ built, service, serviceRoles } = synthesizeApp());
});

const consoleFunction = () => built.service.console.consoleFunction;
const resources = () => service.toJSON().Resources;

describe("the console function", () => {
  it("may do nothing but write its own logs and traces", () => {
    const actions = (serviceRoles.get(roleId(consoleFunction())) ?? [])
      .filter((s) => s.Effect === "Allow")
      .flatMap(actionsOf);
    expect(actions.filter((a) => !/^(logs|xray):/.test(a))).toEqual([]);
  });

  it("may download audit exports (for their check in the page) from the export bucket, which answers any origin's GET", () => {
    const env = resources()[logicalId(consoleFunction())]?.Properties.Environment.Variables;
    expect(flat(env.CONSOLE_CONNECT_SRC)).toMatch(
      /^https:\/\/loan-dunning-exports-.+\.s3\.<AWS::Region>\.<AWS::URLSuffix>$/,
    );
    const data = Template.fromStack(built.data);
    data.hasResourceProperties("AWS::S3::Bucket", {
      CorsConfiguration: { CorsRules: [{ AllowedMethods: ["GET"], AllowedOrigins: ["*"], MaxAge: 3000 }] },
    });
  });
});

describe("the route", () => {
  it("serves GET /console and /console/{proxy+} with the console function, without an authorizer", () => {
    const pathOf = (id: string): string => {
      const props = resources()[id]?.Properties;
      return props.ParentId?.Ref ? `${pathOf(props.ParentId.Ref)}/${props.PathPart}` : `/${props.PathPart}`;
    };
    const ids = Object.keys(service.findResources("AWS::ApiGateway::Resource")).filter((id) =>
      ["/console", "/console/{proxy+}"].includes(pathOf(id)),
    );
    expect(ids).toHaveLength(2);
    const methods = Object.values(service.findResources("AWS::ApiGateway::Method"))
      .map((r) => r.Properties)
      .filter((m) => ids.includes(m.ResourceId.Ref));
    expect(methods.map((m) => m.HttpMethod)).toEqual(["GET", "GET"]);
    for (const method of methods) {
      expect(method).toMatchObject({ AuthorizationType: "NONE", Integration: { Type: "AWS_PROXY" } });
      expect(flat(method.Integration.Uri)).toContain(`<${logicalId(consoleFunction())}.Arn>`);
    }
  });
});
