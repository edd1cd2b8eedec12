import {
  createWebhookSchema,
  deliveriesQuerySchema,
  deliveryId,
  webhookId,
} from "../../contracts/webhooks.ts";
import {
  createWebhook,
  deleteWebhook,
  endpointView,
  findWebhook,
  listWebhookDeliveries,
  listWebhooks,
  redeliver,
  rotateWebhookSecret,
  type WebhookAdminDeps,
} from "../../usecases/webhooks/endpoints.ts";
import type { ApiDeps } from "../deps.ts";
import { HttpError, json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

/** Lender routes: webhook endpoints, their secrets and their deliveries, each scoped to the caller's tenant. */
export function webhookRoutes(deps: ApiDeps): Route[] {
  const idParam = (params: Record<string, string>) => parseWith(webhookId, params.webhookId, "webhookId");
  const configured = (): WebhookAdminDeps => {
    if (!deps.webhooks) {
      throw new HttpError(
        422,
        "WEBHOOKS_NOT_CONFIGURED",
        "this deployment has no webhook delivery configured",
      );
    }
    return deps.webhooks;
  };
  return [
    {
      method: "POST",
      path: "/v1/webhooks",
      roles: ["lender"],
      replayOmits: ["secret"],
      async handle({ principal, body }) {
        return json(201, await createWebhook(configured(), principal, parseWith(createWebhookSchema, body)));
      },
    },
    {
      method: "GET",
      path: "/v1/webhooks",
      roles: ["lender"],
      async handle({ principal }) {
        return json(200, await listWebhooks(configured(), principal));
      },
    },
    {
      method: "GET",
      path: "/v1/webhooks/{webhookId}",
      roles: ["lender"],
      async handle({ principal, params }) {
        return json(200, endpointView(await findWebhook(configured(), principal, idParam(params))));
      },
    },
    {
      method: "DELETE",
      path: "/v1/webhooks/{webhookId}",
      roles: ["lender"],
      async handle({ principal, params }) {
        await deleteWebhook(configured(), principal, idParam(params));
        return { statusCode: 204, headers: {}, body: "" };
      },
    },
    {
      method: "POST",
      path: "/v1/webhooks/{webhookId}:rotate-secret",
      roles: ["lender"],
      replayOmits: ["secret"],
      async handle({ principal, params }) {
        return json(200, await rotateWebhookSecret(configured(), principal, idParam(params)));
      },
    },
    {
      method: "GET",
      path: "/v1/webhooks/{webhookId}/deliveries",
      roles: ["lender"],
      async handle({ principal, params, query }) {
        const request = parseWith(deliveriesQuerySchema, query);
        return json(200, await listWebhookDeliveries(configured(), principal, idParam(params), request));
      },
    },
    {
      method: "POST",
      path: "/v1/webhooks/{webhookId}/deliveries/{deliveryId}:redeliver",
      roles: ["lender"],
      async handle({ principal, params }) {
        const delivery = parseWith(deliveryId, params.deliveryId, "deliveryId");
        return json(202, await redeliver(configured(), principal, idParam(params), delivery));
      },
    },
  ];
}
