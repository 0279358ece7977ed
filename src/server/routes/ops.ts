/** Operations: liveness (`/healthz`) and the OpenAPI document (`/openapi.json`; the UI is at `/docs`). */
import type { FastifyInstance } from 'fastify';
import { type HealthDoc, routes } from '../schemas.js';

export async function opsRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Reply: HealthDoc }>('/healthz', { schema: routes.health }, async (_request, reply) => {
    const state = app.h4mk;
    // A load balancer stops sending traffic once this turns 503.
    if (state.draining) reply.code(503).header('connection', 'close');
    return { status: state.draining ? 'draining' : 'ok', uptime_s: (Date.now() - state.startedAt) / 1000 };
  });

  app.get('/openapi.json', { schema: { hide: true, response: { 200: { type: 'object', additionalProperties: true } } } }, async () => app.swagger());
}
