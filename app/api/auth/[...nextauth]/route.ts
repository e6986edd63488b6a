import { NextRequest } from 'next/server';
import { handlers } from '@/server/auth';
import { BodyTooLarge, tooLarge, withCappedBody } from '@/server/limits';

export const { GET } = handlers;

/** Sign-in and sign-out forms are small: a body over the limit is refused (413) before Auth.js parses it. */
export async function POST(req: NextRequest): Promise<Response> {
  let capped: Request;
  try {
    capped = await withCappedBody(req);
  } catch (err) {
    if (err instanceof BodyTooLarge) return tooLarge(err.limit);
    throw err;
  }
  return handlers.POST(capped === req ? req : new NextRequest(capped));
}
