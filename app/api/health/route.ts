import { healthProbe } from '@/server/health';

export const dynamic = 'force-dynamic';

/** On a connection of its own (server/health.ts): a busy request pool never delays it. */
export async function GET() {
  const health = await healthProbe().check();
  return Response.json(health, { status: health.ok ? 200 : 503 });
}
