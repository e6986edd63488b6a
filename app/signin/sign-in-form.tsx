'use client';
import { signIn } from 'next-auth/react';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { ErrorLine } from '../_components/error-line';

/** What a refused sign-in says (server/auth.ts: codes wait-N and busy). */
export function signInError(code: string | undefined): string {
  const wait = /^wait-(\d+)$/.exec(code ?? '');
  if (wait) {
    const s = Number(wait[1]);
    const when = s < 90 ? `${s} second${s === 1 ? '' : 's'}` : `${Math.ceil(s / 60)} minutes`;
    return `Too many failed sign-ins for this account or from this address: try again in ${when}.`;
  }
  if (code === 'busy') return 'The server is busy checking passwords: try again in a few seconds.';
  return 'Wrong email or password.';
}

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
    if (res?.error) return setError(signInError(res.code));
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
