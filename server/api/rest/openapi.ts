/** The OpenAPI 3.1 document of the REST API, made from the route table's zod schemas (./routes.ts). */
import { z } from 'zod';
import { apiError, ROUTES, type Route } from './routes';

/** JSON Schema 2020-12 (what OpenAPI 3.1 uses), without the `$schema` line each standalone schema gets. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/**
 * Path and query parameters, each with the schema of what it parses to (a number's range and integrality, which the
 * string it arrives as does not show); one that may be left out (optional or defaulted) is not required.
 */
function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const { description, ...property } = jsonSchema(field, 'output') as { description?: string };
    return { name, in: where, required: !field.safeParse(undefined).success, ...(description ? { description } : {}), schema: property };
  });
}

const ERROR_STATUSES: Record<number, string> = {
  400: 'the input is malformed (the message names the field)',
  401: 'no valid token where one is needed, or a revoked one',
  403: 'the token or its account may not do this',
  404: 'no such thing, or one this account may not see',
  409: 'the page moved past baseRevision',
  429: 'too many requests: see Retry-After',
};

function operation(route: Route) {
  const ok = route.status ?? 200;
  return {
    operationId: route.method.toLowerCase() + route.path.replace(/[{}]/g, '').split(/[/.]/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join(''),
    summary: route.summary,
    // reads work without a token (public data only); writes need a read-write one
    security: route.scope === 'write' ? [{ token: [] }] : [{}, { token: [] }],
    parameters: [...parameters(route.params as z.ZodObject | undefined, 'path'), ...parameters(route.query as z.ZodObject | undefined, 'query')],
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
    responses: {
      [ok]: { description: 'success', content: { 'application/json': { schema: jsonSchema(route.response, 'output') } } },
      ...Object.fromEntries(
        Object.entries(ERROR_STATUSES).map(([status, description]) => [status, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]),
      ),
    },
  };
}

export function openApiDocument(origin: string) {
  const paths: Record<string, Record<string, unknown>> = {
    '/openapi.json': { get: { operationId: 'getOpenapiJson', summary: 'This document', security: [{}], responses: { 200: { description: 'the OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } } } },
  };
  for (const route of ROUTES) (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lexicon API',
      version: '1',
      description:
        'Features, dashboards, labels, search and jobs of this Lexicon. Reads work without a token (public data, a lower rate); ' +
        'send "Authorization: Bearer lex_..." (a personal access token from your account page) to act as your account. Errors are { error: { code, message } }.',
    },
    servers: [{ url: `${origin}/api/v1` }],
    components: {
      securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'a personal access token (lex_...), read or read-write' } },
      schemas: { Error: jsonSchema(apiError, 'output') },
    },
    paths,
  };
}
