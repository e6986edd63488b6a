import { SignInForm } from './sign-in-form';

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string }> }) {
  const { callbackUrl } = await searchParams;
  return (
    <>
      <h1>Sign in</h1>
      <SignInForm callbackUrl={callbackUrl?.startsWith('/') ? callbackUrl : '/'} />
    </>
  );
}
