// Lambda entry for the HTTP API (API Gateway REST, proxy integration). Filled in by the API module.
export const handler = async (): Promise<unknown> => ({ statusCode: 503, body: "" });
