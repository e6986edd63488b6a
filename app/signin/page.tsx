import { localPath } from '@/server/safe-redirect';
import { SignInForm } from './sign-in-form';

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string | string[] }> }) {
  const { callbackUrl } = await searchParams;
  return (
    <>
      <h1>Sign in</h1>
      {/* a path on this site only: not //host, /\host or another site (server/safe-redirect.ts) */}
      <SignInForm callbackUrl={localPath(Array.isArray(callbackUrl) ? callbackUrl[0] : callbackUrl)} />
    </>
  );
}
