import * as z from "zod";

/**
 * The query of GET /v1/reports/portfolio: an optional range of UTC calendar days. Whether each is a date, their
 * order and the range's length are the domain's to check (reportRange), with the business clock's today.
 */
export const portfolioQuerySchema = z.strictObject({
  from: z.string().optional(),
  to: z.string().optional(),
});
