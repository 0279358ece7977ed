/**
 * Numbers in a query string or a path are plain decimals. Fastify's
 * JSON-schema coercion (ajv) reads "0x10" as 16, "1e3" as 1000, "+5" and
 * " 5 " as 5, and "1e400" as Infinity, which passes `integer` and `maximum`:
 * these hooks refuse all of them with E_BAD_REQUEST, before and after
 * coercion, for every route whose schema declares integer or number fields.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';

/** Matches what JSON Schema coercion would turn into a number from a query string or path: plain decimals only. */
const STRICT = { integer: /^-?[0-9]+$/, number: /^-?[0-9]+(\.[0-9]+)?$/ } as const;
type NumericFields = ReadonlyArray<readonly [string, 'integer' | 'number']>;
const numericFieldCache = new WeakMap<object, NumericFields>();

/** The integer and number properties of an object schema (cached per schema). */
function numericFields(schema: unknown): NumericFields {
  if (typeof schema !== 'object' || schema === null) return [];
  let fields = numericFieldCache.get(schema);
  if (fields === undefined) {
    const found: [string, 'integer' | 'number'][] = [];
    const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
    for (const [key, property] of Object.entries(properties)) {
      const types = ([] as unknown[]).concat(property?.type ?? []);
      if (types.includes('integer')) found.push([key, 'integer']);
      else if (types.includes('number')) found.push([key, 'number']);
    }
    fields = found;
    numericFieldCache.set(schema, fields);
  }
  return fields;
}

/** Installs the checks on `app` (see the module comment). */
export function addStrictNumbers(app: FastifyInstance): void {
  // JSON-schema coercion reads "0x10" as 16, "1e3" as 1000, "+5" and " 5 " as 5: numbers in a query
  // string or a path are plain decimals, checked before coercion.
  app.addHook('preValidation', async (request) => {
    const schema = request.routeOptions.schema as { querystring?: unknown; params?: unknown } | undefined;
    if (schema === undefined) return;
    for (const [part, values, fields] of [
      ['querystring', request.query, numericFields(schema.querystring)],
      ['params', request.params, numericFields(schema.params)],
    ] as const) {
      if (fields.length === 0 || typeof values !== 'object' || values === null) continue;
      for (const [key, kind] of fields) {
        const value = (values as Record<string, unknown>)[key];
        for (const one of Array.isArray(value) ? value : [value]) {
          if (typeof one === 'string' && !STRICT[kind].test(one)) throw new HttpError('E_BAD_REQUEST', `${part}/${key} must be a decimal ${kind}`);
        }
      }
    }
  });
  // JSON-schema coercion turns "1e400" into Infinity, which passes `integer` and `maximum`: refuse it here.
  app.addHook('preHandler', async (request) => {
    for (const values of [request.query, request.params]) {
      if (typeof values !== 'object' || values === null) continue;
      for (const [key, value] of Object.entries(values)) {
        if (typeof value === 'number' && !Number.isFinite(value)) throw new HttpError('E_BAD_REQUEST', `${key} must be a finite number`);
      }
    }
  });
}
