'use client';
import { signIn } from 'next-auth/react';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { ErrorLine } from '../_components/error-line';

export function SignInForm({ callbackUrl }: { callbackUrl: string }) {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  // onSubmit rather than a form action: React resets a form after its action, losing what was typed.
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    const res = await signIn('credentials', {
      email: form.get('email'),
      password: form.get('password'),
      redirect: false,
    });
    setPending(false);
    if (res?.error) return setError('Wrong email or password.');
    // A full navigation, so server components render with the new session.
    window.location.assign(callbackUrl);
  }

  return (
    <form className="stack" onSubmit={submit}>
      <label>
        Email
        <input name="email" type="email" autoComplete="email" required />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <ErrorLine error={error} />
      <button type="submit" disabled={pending}>
        Sign in
      </button>
      <p className="muted">
        No account? <Link href="/signup">Sign up</Link>
      </p>
    </form>
  );
}
