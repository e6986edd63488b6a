import { notFound } from 'next/navigation';
import { api } from '@/server/api/server-caller';

/** The server caller of an admin; for anyone else the admin pages do not exist (404). */
export async function adminCaller() {
  const caller = await api();
  if ((await caller.auth.me())?.role !== 'admin') notFound();
  return caller;
}
