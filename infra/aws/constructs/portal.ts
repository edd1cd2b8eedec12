import { LambdaIntegration, type Method } from "aws-cdk-lib/aws-apigateway";
import type { Construct } from "constructs";
import { DunningFunction } from "../dunning-function.ts";
import { acknowledge } from "./acknowledge.ts";
import type { HttpApi } from "./api.ts";
import type { CaseData, StateItemAction } from "./case-data.ts";
import { StackPart } from "./stack-part.ts";
import type { Workflow } from "./workflow.ts";

/**
 * What the page does on the state table, all by key: links, the case and the tenant's settings (GetItem), the
 * link's answers and session and the per-address attempt counts (UpdateItem), a case change with its audit entries
 * (TransactWriteItems of Puts: PutItem). No Query or Scan: it reads the policy version a case names, never the
 * latest.
 */
const PORTAL_STATE_ACTIONS: readonly StateItemAction[] = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
];

export interface BorrowerPortalProps {
  serviceName: string;
  caseData: CaseData;
  workflow: Workflow;
  /** The REST API whose stage serves the page at `/p/`. */
  httpApi: HttpApi;
  /** The page's public base, put into messages as `<base>/p/<token>` (default: the API stage's URL). */
  baseUrl?: string;
}

/**
 * The borrowers' page: one function behind `/p/{proxy+}` on the API's stage (same throttling, access logs and web
 * ACL as the lenders' API), where a borrower verifies with the link from a message and then promises, disputes or
 * opts out through the lender's own event use case (a re-plan stops and starts the loan's execution).
 */
export class BorrowerPortal extends StackPart {
  readonly portalFunction: DunningFunction;
  /** `GET` and `POST` on `/p/{proxy+}`. */
  readonly methods: Method[];
  /** The page's public base URL (no trailing slash). */
  readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: BorrowerPortalProps) {
    super(scope, id);
    this.baseUrl = (props.baseUrl ?? props.httpApi.stageUrl).replace(/\/+$/, "");
    this.portalFunction = this.createFunction(props);
    this.methods = this.route(props.httpApi);
  }

  /** The function that puts the borrowers' links into messages learns where the page is (PORTAL_BASE_URL). */
  linkFrom(fn: DunningFunction): void {
    fn.addEnvironment("PORTAL_BASE_URL", this.baseUrl);
  }

  private createFunction({ serviceName, caseData, workflow }: BorrowerPortalProps): DunningFunction {
    const fn = new DunningFunction(this, "PortalFunction", {
      function: "portal",
      description: "Borrowers' page: verify with a link, then promise, dispute or opt out",
      // No export bucket and no hand-off topic: a borrower's action never hands a case to legal. Cookies stay
      // Secure (PORTAL_SECURE_COOKIES defaults to true): the page is served over HTTPS only.
      environment: { ...caseData.tableEnvironment, STATE_MACHINE_ARN: workflow.stateMachine.stateMachineArn },
      serviceName,
    });
    caseData.grantCaseItems(fn, PORTAL_STATE_ACTIONS);
    // An event that re-plans the case stops the loan's execution and starts its next generation.
    workflow.grantStart(fn);
    workflow.grantExecutions(fn, "StopReplannedExecutions", ["states:StopExecution"]);
    return fn;
  }

  /**
   * `/p/portal.css`, `GET /p/<token>` and `POST /p/<token>/<action>`. No authorizer and no API key: borrowers
   * have neither. The token in the path is the credential — the page finds its link by the token's hash and asks
   * the borrower a verification question before it shows anything of the loan.
   */
  private route(httpApi: HttpApi): Method[] {
    const page = httpApi.api.root.addResource("p").addProxy({
      defaultIntegration: new LambdaIntegration(this.portalFunction),
      anyMethod: false,
    });
    const methods = ["GET", "POST"].map((httpMethod) => page.addMethod(httpMethod));
    acknowledge(
      methods,
      "AwsSolutions-APIG4",
      "The borrowers' page: the unguessable token in the path is the credential, checked by the page (with a verification question and a session) — borrowers hold no API key.",
    );
    acknowledge(
      methods,
      "AwsSolutions-COG4",
      "The borrowers' page: borrowers have no accounts; the link's token and a verification question stand for them.",
    );
    return methods;
  }
}
