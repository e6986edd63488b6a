import { getDb } from '@/server/db';
import { checkHealth } from '@/server/health';

export const dynamic = 'force-dynamic';

export async function GET() {
  const health = await checkHealth(getDb());
  return Response.json(health, { status: health.ok ? 200 : 503 });
}
