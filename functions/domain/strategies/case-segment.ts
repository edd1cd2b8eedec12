import type { Money } from "../money.ts";
import { daysPastDue } from "../time.ts";
import type { Assignment, CustomerType, Grade, SegmentFacts } from "./strategy.ts";

/** What the lender told of the borrower's risk at subscription. */
export interface Risk {
  score: number;
  grade?: Grade;
}

/** A strategy's assignment as the case keeps it: sticky while the case stays in its segment. */
export type CaseStrategy = Assignment & { assignedAt: string };

/** What a case knows that places it in a segment, besides its terms. */
export interface SegmentFields {
  /** The lender's risk score and grade at subscription (absent: none given). */
  risk?: Risk;
  /** The lender's product name, free text (absent: none given). */
  product?: string;
  /** Why the borrower is late, as the lender last assessed it (absent: not assessed). */
  customerType?: CustomerType;
  /** Promises to pay the borrower let pass without paying (absent: none). */
  brokenPromises?: number;
  /** The policy the tenant's strategy gave the case, its segment and arm (absent: the lender named the policy). */
  strategy?: CaseStrategy;
}

/** The risk and product a subscription carries, as the case and its `loan_subscribed` entry keep them. */
export function segmentFieldsOf(request: {
  risk?: Risk;
  product?: string;
}): Pick<SegmentFields, "risk" | "product"> {
  return {
    ...(request.risk ? { risk: request.risk } : {}),
    ...(request.product !== undefined ? { product: request.product } : {}),
  };
}

/** The facts a strategy's rules look at, for a loan about to be subscribed or a running case. */
export function segmentFacts(
  loan: SegmentFields & { amountDue: Money; dueDate: string; borrower: { timeZone: string } },
  now: Date,
  country: string | undefined,
): SegmentFacts {
  const zone = loan.borrower.timeZone;
  return {
    ...(loan.risk ? { score: loan.risk.score } : {}),
    ...(loan.risk?.grade ? { grade: loan.risk.grade } : {}),
    ...(loan.product !== undefined ? { product: loan.product } : {}),
    amount: loan.amountDue,
    daysPastDue: daysPastDue(loan.dueDate, zone, now),
    ...(loan.customerType ? { customerType: loan.customerType } : {}),
    brokenPromises: loan.brokenPromises ?? 0,
    timeZone: zone,
    ...(country ? { country } : {}),
  };
}

/** Whether two assignments put a case in the same place (segment, arm and policy), whatever the version. */
export function sameAssignment(a: Assignment | undefined, b: Assignment | undefined): boolean {
  return (
    a?.strategy.id === b?.strategy.id &&
    a?.segment === b?.segment &&
    a?.arm === b?.arm &&
    a?.policyId === b?.policyId
  );
}
