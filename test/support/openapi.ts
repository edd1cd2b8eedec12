import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import ajvFormats from "ajv-formats";
import { expect } from "vitest";
import type { LoanEventType } from "../../functions/domain/events.ts";
import type { CaseStatus } from "../../functions/domain/loan-case.ts";

/**
 * The OpenAPI document (openapi/openapi.json) for the tests: its operations, its schemas resolved through
 * $ref, its examples, and a JSON Schema 2020-12 validator (Ajv) for values against the schemas it declares.
 */

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export type Obj = Record<string, unknown>;
export interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  "x-status"?: string;
  "x-roles"?: string[];
}
export interface Doc {
  openapi: string;
  servers: { url: string; description?: string }[];
  security?: Record<string, string[]>[];
  tags: { name: string }[];
  paths: Record<string, Obj>;
  components: Record<string, Record<string, unknown>>;
}

/** The case statuses and stages of the contract (api-contract.md), written out by hand. */
export const CASE_STATUSES: CaseStatus[] = ["active", "on_hold", "paid", "settled", "legal", "closed"];
export const CASE_STAGES = ["pre_due", "soft_collection", "legal", "done"];

export const doc = JSON.parse(readFileSync(join(ROOT, "openapi/openapi.json"), "utf8")) as Doc;

export const isObject = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Resolves a local JSON pointer ("#/components/schemas/Money"); undefined when it points nowhere. */
export function pointer(ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (!isObject(node) || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

/** Follows $ref (a Reference Object) until a real object. */
export function deref(value: unknown): Obj {
  let node = value;
  for (let hops = 0; isObject(node) && typeof node.$ref === "string"; hops++) {
    if (hops > 20) throw new Error("$ref cycle");
    node = pointer(node.$ref);
  }
  if (!isObject(node)) throw new Error(`not an object: ${JSON.stringify(value)}`);
  return node;
}

export const schema = (name: string): Obj => deref({ $ref: `#/components/schemas/${name}` });
export const propertiesOf = (s: Obj): Obj => (isObject(s.properties) ? s.properties : {});
export const requiredOf = (s: Obj): string[] => (Array.isArray(s.required) ? (s.required as string[]) : []);

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;

/** One operation of the document: a method on a path, with the parameters its path item declares. */
export interface DocumentedOperation {
  path: string;
  method: string;
  op: Operation;
  pathParameters: Obj[];
  /** Served only by the embedded local stack (GET /health and /local/...). */
  isLocal: boolean;
}

export const operations: DocumentedOperation[] = Object.entries(doc.paths).flatMap(([path, item]) =>
  METHODS.filter((method) => isObject(item[method])).map((method) => ({
    path,
    method,
    op: item[method] as Operation,
    pathParameters: (Array.isArray(item.parameters) ? item.parameters : []).map(deref),
    isLocal: path === "/health" || path.startsWith("/local/"),
  })),
);

export function opAt(method: string, path: string): DocumentedOperation {
  const found = operations.find((o) => o.method === method && o.path === path);
  if (!found) throw new Error(`${method} ${path} is not in the document`);
  return found;
}

/** The parameters of an operation: its path item's, then its own. */
export const parametersOf = (o: DocumentedOperation): Obj[] => [
  ...o.pathParameters,
  ...(o.op.parameters ?? []).map(deref),
];

export const routeKey = (o: { method: string; path: string }) => `${o.method.toUpperCase()} ${o.path}`;

/** The JSON schema a response (by status) of an operation declares. */
export function responseSchema(o: DocumentedOperation, status: number): unknown {
  const response = o.op.responses[String(status)];
  if (response === undefined) return undefined;
  const content = deref(response).content;
  const media = isObject(content) ? content["application/json"] : undefined;
  return isObject(media) ? media.schema : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation. The whole document is one schema resource for Ajv, so every "#/components/..." reference resolves
// as it does for any OpenAPI 3.1 tool. Ajv runs in strict mode: a keyword it does not know stops compilation, so
// a schema can never pass only because a constraint was silently ignored. The only keywords it is told to leave
// alone are the OpenAPI ones that do not constrain a value: the document's own top-level fields, `discriminator`
// (the `oneOf` beside it does the validating), and the `x-` extensions. Ajv's stricter style checks (strictTypes:
// a `type` beside every `properties`; strictTuples) are off: they judge how a schema is written, not what it
// accepts, and the document composes with allOf as JSON Schema allows.

const DOCUMENT_ID = "https://loan-dunning.example/openapi.json";

/** Every node of the document (objects and arrays), by identity, with its JSON pointer as a URI fragment. */
const locations = new Map<unknown, string>();
const extensions = new Set<string>();
(function locate(node: unknown, at: string) {
  if (typeof node !== "object" || node === null) return;
  locations.set(node, at);
  for (const [key, value] of Object.entries(node)) {
    if (!Array.isArray(node) && key.startsWith("x-")) extensions.add(key);
    locate(value, `${at}/${encodeURIComponent(key.replaceAll("~", "~0").replaceAll("/", "~1"))}`);
  }
})(doc, "#");

const ajv = new Ajv2020({ allErrors: true, strictSchema: true, strictTypes: false, strictTuples: false });
// ajv-formats is CommonJS: its plugin is the `default` of what an ES import of it gets.
ajvFormats.default(ajv);
ajv.addVocabulary([...Object.keys(doc), "discriminator", ...extensions]);
ajv.addSchema({ ...doc, $id: DOCUMENT_ID });

/**
 * The schema errors of a value, none when it is valid. `s` is a schema of the document (the object itself, as
 * found in it) or a reference into the document, e.g. { $ref: "#/components/schemas/LoanCase/properties/hold" }.
 */
export function schemaErrors(s: unknown, value: unknown): string[] {
  const reference =
    isObject(s) && Object.keys(s).length === 1 && typeof s.$ref === "string" && s.$ref.startsWith("#/")
      ? s.$ref
      : undefined;
  const at = locations.get(s) ?? reference;
  if (at === undefined) return [`$: not a schema of the document: ${JSON.stringify(s)}`];
  if (reference !== undefined && pointer(reference) === undefined) return [`$: unresolved ${reference}`];
  const validate = ajv.getSchema(`${DOCUMENT_ID}${at}`) as ValidateFunction;
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (e) => `$${e.instancePath}: ${e.message} (${e.schemaPath} ${JSON.stringify(e.params)})`,
  );
}

/** The operation documents this status, and the body satisfies the JSON schema it declares for it. */
export function expectDocumented(o: DocumentedOperation, response: { status: number; body: unknown }) {
  const documented = Object.keys(o.op.responses);
  expect(documented, `${routeKey(o)} answered ${response.status}, which it does not document`).toContain(
    String(response.status),
  );
  const s = responseSchema(o, response.status);
  expect(s, `${routeKey(o)} ${response.status} has no JSON schema`).toBeDefined();
  expect(schemaErrors(s, response.body), `${routeKey(o)} ${response.status}`).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------------------
// Examples.

/** Every example in the document, with the schema it must satisfy. */
export function documentExamples(): { where: string; schema: unknown; value: unknown }[] {
  const found: { where: string; schema: unknown; value: unknown }[] = [];
  const fromMedia = (where: string, content: unknown) => {
    if (!isObject(content)) return;
    for (const [type, media] of Object.entries(content)) {
      if (!isObject(media)) continue;
      if ("example" in media)
        found.push({ where: `${where} ${type}`, schema: media.schema, value: media.example });
      for (const [name, example] of Object.entries(isObject(media.examples) ? media.examples : {})) {
        found.push({
          where: `${where} ${type} example ${name}`,
          schema: media.schema,
          value: deref(example).value,
        });
      }
    }
  };
  for (const o of operations) {
    const where = routeKey(o);
    for (const parameter of parametersOf(o)) {
      if ("example" in parameter) {
        found.push({
          where: `${where} parameter ${parameter.name}`,
          schema: parameter.schema,
          value: parameter.example,
        });
      }
    }
    if (o.op.requestBody) fromMedia(`${where} request`, deref(o.op.requestBody).content);
    for (const [status, response] of Object.entries(o.op.responses)) {
      fromMedia(`${where} ${status}`, deref(response).content);
    }
  }
  for (const [name, s] of Object.entries(doc.components.schemas ?? {})) {
    const examples = isObject(s) && Array.isArray(s.examples) ? s.examples : [];
    for (const value of examples)
      found.push({ where: `schema ${name}`, schema: { $ref: `#/components/schemas/${name}` }, value });
  }
  return found;
}

/** The first example of an operation's request body, if it has one. */
export function requestExample(o: DocumentedOperation): unknown {
  if (!o.op.requestBody) return undefined;
  const content = deref(o.op.requestBody).content as Record<string, Obj>;
  const examples = content["application/json"]?.examples;
  const first = isObject(examples) ? Object.values(examples)[0] : undefined;
  return first === undefined ? undefined : deref(first).value;
}

/** The named examples of an operation's response, by name. */
export function responseExamples(o: DocumentedOperation, status: number): Record<string, unknown> {
  const content = deref(o.op.responses[String(status)]).content as Record<string, Obj>;
  const examples = content["application/json"]?.examples;
  return Object.fromEntries(
    Object.entries(isObject(examples) ? examples : {}).map(([name, example]) => [name, deref(example).value]),
  );
}

/** The first example of an event type's schema. */
export function eventExample(type: LoanEventType): unknown {
  const mapping = (schema("LoanEvent").discriminator as { mapping: Record<string, string> }).mapping;
  return (deref({ $ref: mapping[type] }).examples as unknown[])[0];
}

/** The first LoanSubscription example: the body of POST /v1/loans for loan L-1001. */
export const subscriptionExample = (schema("LoanSubscription").examples as unknown[])[0];
