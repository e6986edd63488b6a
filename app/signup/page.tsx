'use client';
import { useMutation } from '@tanstack/react-query';
import { signIn } from 'next-auth/react';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc';
import { ErrorLine } from '../_components/error-line';
import { signInError } from '../signin/sign-in-form';

export default function SignUpPage() {
  const trpc = useTRPC();
  const signUp = useMutation(trpc.auth.signUp.mutationOptions());
  const [error, setError] = useState<string | null>(null);

  // onSubmit rather than a form action: React resets a form after its action, losing what was typed.
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    const email = String(form.get('email') ?? '');
    const password = String(form.get('password') ?? '');
    try {
      await signUp.mutateAsync({ name: String(form.get('name') ?? ''), email, password });
    } catch (err) {
      return setError((err as Error).message);
    }
    // Sign-up answers the same whether or not the email had an account (server/users.ts register): signing in tells.
    const res = await signIn('credentials', { email, password, redirect: false });
    if (res?.error) {
      if (res.code && res.code !== 'credentials') return setError(signInError(res.code));
      return setError('Signing in failed. If this email already has an account, sign in with its password on the sign-in page.');
    }
    window.location.assign('/');
  }

  return (
    <>
      <h1>Create an account</h1>
      <form className="stack" onSubmit={submit}>
        <label>
          Name
          <input name="name" autoComplete="name" required />
        </label>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <label>
          Password (8 characters or more, not a common one)
          <input name="password" type="password" autoComplete="new-password" minLength={8} required />
        </label>
        <ErrorLine error={error} />
        <button type="submit" disabled={signUp.isPending}>
          Sign up
        </button>
        <p className="muted">
          Have an account? <Link href="/signin">Sign in</Link>
        </p>
      </form>
    </>
  );
}
