'use client';
/** The signed-in account's own name and @handle (the handle is what a mention names, unique on the site). */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';

export function ProfileForm({ name: initialName, handle: initialHandle }: { name: string; handle: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [name, setName] = useState(initialName);
  const [handle, setHandle] = useState(initialHandle);
  const save = useMutation(
    trpc.auth.updateProfile.mutationOptions({
      onSuccess: (saved) => {
        setName(saved.name ?? '');
        setHandle(saved.handle);
        router.refresh();
      },
    }),
  );
  return (
    <form
      className="panel stack"
      data-testid="profile-form"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({ name, handle });
      }}
    >
      <h2>Your profile</h2>
      <div className="row">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={80} required />
        </label>
        <label>
          Handle (others mention you as @{handle || '…'})
          <input value={handle} onChange={(e) => setHandle(e.target.value)} maxLength={65} required data-testid="profile-handle" />
        </label>
        <button type="submit" disabled={save.isPending}>
          Save
        </button>
      </div>
      {save.isSuccess && (
        <p className="muted" role="status">
          Saved.
        </p>
      )}
      <ErrorLine error={save.error} />
    </form>
  );
}
