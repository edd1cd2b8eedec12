import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { DomainError } from "../domain/errors.ts";
import { logger } from "../powertools.ts";
import {
  type BorrowerRequest,
  borrowerAction,
  borrowerView,
  csrfTokenOf,
  type OpenedLink,
  openLink,
  openSession,
  type PortalDeps,
  verifyBorrower,
} from "../usecases/portal.ts";
import { casePage, donePage, lockedPage, notFoundPage, PORTAL_CSS, verifyPage } from "./pages.ts";
import type { PortalAction, PortalOutcome } from "./view.ts";

export interface PortalOptions {
  /** Cookies only over HTTPS (every deployed stage); the embedded stack serves plain HTTP on 127.0.0.1. */
  secureCookies: boolean;
}

/** Nothing loads from anywhere but the page's own stylesheet; forms post only back here; no framing. */
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};
const SESSION_COOKIE = "portal_session";
const FORM_COOKIE = "portal_form";
const ACTIONS: readonly PortalAction[] = ["promise", "dispute", "opt-out", "plan", "contact-time"];
/** `/p/<token>` and `/p/<token>/<action>`: a token is 43 URL-safe characters. */
const ROUTE = /^\/p\/([A-Za-z0-9_-]{43})(?:\/([a-z-]+))?$/;
/** The stylesheet, beside a link and beside its forms (pages link it relatively). */
const STYLESHEET = /^\/p\/(?:[A-Za-z0-9_-]{43}\/)?portal\.css$/;

const page = (statusCode: number, body: string, cookie?: string): APIGatewayProxyResult => ({
  statusCode,
  headers: { ...PAGE_HEADERS, ...(cookie ? { "set-cookie": cookie } : {}) },
  body,
});
const unusable = () => page(404, notFoundPage());

/**
 * The borrower's page: `GET /p/<token>` (verify, or the case once verified), `POST /p/<token>/verify` and
 * `POST /p/<token>/<action>`. Readable without JavaScript; every form carries a CSRF token; nothing about the
 * loan before the borrower answered; the token never reaches a log.
 */
export function makePortalHandler(deps: PortalDeps, options: PortalOptions) {
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      if (event.httpMethod === "GET" && STYLESHEET.test(event.path)) {
        return {
          statusCode: 200,
          headers: { "content-type": "text/css", "cache-control": "max-age=3600" },
          body: PORTAL_CSS,
        };
      }
      const match = ROUTE.exec(event.path);
      if (!match) return unusable();
      const [, token = "", action] = match;
      const request = { event, token, prefix: stagePrefixOf(event), cookies: cookiesOf(event), options };
      if (event.httpMethod === "GET" && action === undefined) return await showLink(deps, request);
      if (event.httpMethod === "POST" && action === "verify") return await verify(deps, request);
      if (event.httpMethod === "POST" && ACTIONS.includes(action as PortalAction)) {
        return await act(deps, request, action as PortalAction);
      }
      return unusable();
    } catch (error) {
      // The path holds the token: only the error's kind is logged.
      logger.error("portal request failed", { errorName: (error as Error).name });
      return page(500, notFoundPage());
    }
  };
}

interface PortalRequest {
  event: APIGatewayProxyEvent;
  token: string;
  /** What the public path has before `/p/` (the API stage, `/prod`; nothing on a domain mapped at its root). */
  prefix: string;
  cookies: Record<string, string>;
  options: PortalOptions;
}

async function showLink(deps: PortalDeps, request: PortalRequest): Promise<APIGatewayProxyResult> {
  const session = await openSession(deps, request.token, request.cookies[SESSION_COOKIE]);
  if (session) return page(200, casePage(await borrowerView(deps, session), sessionFrame(request)));
  return verifyForm(await openLink(deps, request.token), request);
}

/** The verify form, with a fresh form token in a cookie the form must echo (double submit). */
function verifyForm(
  opened: OpenedLink,
  request: PortalRequest,
  attemptsLeft?: number,
): APIGatewayProxyResult {
  if (opened.standing !== "usable") {
    return opened.standing === "locked" ? page(423, lockedPage(opened.locale ?? "en-US")) : unusable();
  }
  const formToken = randomBytes(24).toString("base64url");
  const view = {
    locale: opened.loanCase.borrower.locale,
    factor: opened.factor,
    ...(attemptsLeft === undefined ? {} : { wrongAnswer: { attemptsLeft } }),
  };
  return page(
    attemptsLeft === undefined ? 200 : 401,
    verifyPage(view, { basePath: basePath(request), csrfToken: formToken }),
    cookie(FORM_COOKIE, formToken, request, 15 * 60),
  );
}

async function verify(deps: PortalDeps, request: PortalRequest): Promise<APIGatewayProxyResult> {
  const form = formOf(request.event);
  if (!sameToken(form.get("csrf"), request.cookies[FORM_COOKIE]))
    return verifyForm(await openLink(deps, request.token), request);
  const address = createHash("sha256")
    .update(request.event.requestContext?.identity?.sourceIp ?? "unknown")
    .digest("hex");
  const result = await verifyBorrower(deps, request.token, form.get("answer") ?? "", address);
  switch (result.kind) {
    case "verified":
      // Back to the link itself, now with a session: the page of the case.
      return {
        statusCode: 303,
        headers: {
          ...PAGE_HEADERS,
          location: basePath(request),
          "set-cookie": cookie(SESSION_COOKIE, result.sessionToken, request, 15 * 60),
        },
        body: "",
      };
    case "wrong":
      return verifyForm(result.opened, request, result.attemptsLeft);
    case "closed":
      return verifyForm(result.opened, request);
    case "too_many_attempts":
      return page(429, notFoundPage());
  }
}

async function act(
  deps: PortalDeps,
  request: PortalRequest,
  action: PortalAction,
): Promise<APIGatewayProxyResult> {
  const sessionToken = request.cookies[SESSION_COOKIE];
  const session = await openSession(deps, request.token, sessionToken);
  if (!session || !sessionToken) return showLink(deps, request);
  const form = formOf(request.event);
  if (!sameToken(form.get("csrf"), csrfTokenOf(sessionToken))) return unusable();
  const asked = borrowerRequestOf(action, form);
  const frame = sessionFrame(request);
  let result: Awaited<ReturnType<typeof borrowerAction>>;
  try {
    result = await borrowerAction(deps, session, asked);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const view = await borrowerView(deps, session);
    return page(422, casePage(view, frame, { action, message: error.message }));
  }
  const locale = session.loanCase.borrower.locale;
  return page(200, donePage(outcomeOf(asked, result), locale, frame));
}

function borrowerRequestOf(action: PortalAction, form: URLSearchParams): BorrowerRequest {
  if (action === "promise") return { action, date: form.get("date") ?? "" };
  if (action === "dispute") return { action, reason: form.get("reason") ?? "" };
  if (action === "plan") return { action, months: form.get("months") ?? "" };
  if (action === "contact-time") return { action, time: form.get("time") ?? "" };
  return { action, channel: form.get("channel") ?? "" };
}

function outcomeOf(asked: BorrowerRequest, result: "applied" | "sent_for_approval"): PortalOutcome {
  switch (asked.action) {
    case "promise":
      return { action: "promise", date: asked.date };
    case "dispute":
      return { action: "dispute" };
    case "plan":
      return {
        action: "plan",
        months: Number(asked.months),
        approval: result === "applied" ? "automatic" : "lender",
      };
    case "opt-out":
      return { action: "opt-out", channel: asked.channel as "sms" | "email" };
    case "contact-time":
      return { action: "contact-time", time: asked.time || null };
  }
}

const basePath = (request: PortalRequest) => `${request.prefix}/p/${request.token}`;

/** The public path's part before the resource path: API Gateway gives both (`requestContext.path`, `path`). */
function stagePrefixOf(event: APIGatewayProxyEvent): string {
  const full = event.requestContext?.path;
  return full?.endsWith(event.path) ? full.slice(0, full.length - event.path.length) : "";
}

function sessionFrame(request: PortalRequest) {
  return { basePath: basePath(request), csrfToken: csrfTokenOf(request.cookies[SESSION_COOKIE] ?? "") };
}

/** A cookie for this link only (its path), out of reach of scripts and of other sites. */
function cookie(name: string, value: string, request: PortalRequest, maxAgeSeconds: number): string {
  const secure = request.options.secureCookies ? "; Secure" : "";
  return `${name}=${value}; Path=${basePath(request)}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
}

function cookiesOf(event: APIGatewayProxyEvent): Record<string, string> {
  const header = event.headers?.cookie ?? event.headers?.Cookie ?? "";
  const cookies: Record<string, string> = {};
  for (const part of header.split(";")) {
    const cut = part.indexOf("=");
    if (cut > 0) cookies[part.slice(0, cut).trim()] = part.slice(cut + 1).trim();
  }
  return cookies;
}

function formOf(event: APIGatewayProxyEvent): URLSearchParams {
  const raw = event.body ?? "";
  return new URLSearchParams(event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw);
}

/** Two tokens compared in constant time; a missing one never matches. */
function sameToken(given: string | null | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
