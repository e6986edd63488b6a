'use client';
/**
 * The signed-in account's personal access tokens for the REST API (/api/v1, documented in /api/v1/openapi.json):
 * create one (its token is shown here once and never again), see when each was last used, revoke one.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../trpc';
import { utc } from '../_lib/time';
import { ErrorLine } from './error-line';

export function ApiTokens() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.apiToken.list.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.apiToken.list.queryKey() });
  const [name, setName] = useState('');
  const [scope, setScope] = useState<'read' | 'read-write'>('read');
  const create = useMutation(
    trpc.apiToken.create.mutationOptions({
      onSuccess: () => {
        setName('');
        return refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.apiToken.revoke.mutationOptions({ onSuccess: refresh }));

  return (
    <section className="panel stack" aria-labelledby="tokens-h" data-testid="api-tokens">
      <h2 id="tokens-h">API tokens</h2>
      <p className="muted small">
        For scripts and notebooks: send <code>Authorization: Bearer lex_…</code> to <code>/api/v1</code> (the routes are in{' '}
        <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>). A token acts as you, with your role; a read token cannot change anything.
      </p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name, scope });
        }}
      >
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required placeholder="my notebook" data-testid="token-name" />
        </label>
        <label>
          Scope
          <select value={scope} onChange={(e) => setScope(e.target.value as typeof scope)} data-testid="token-scope">
            <option value="read">read</option>
            <option value="read-write">read-write</option>
          </select>
        </label>
        <button type="submit" disabled={create.isPending}>
          Create token
        </button>
      </form>
      <ErrorLine error={create.error} />
      {create.data && (
        <div role="status" data-testid="new-token">
          <p>
            Your new token <strong>{create.data.name}</strong>: copy it now, it will not be shown again.
          </p>
          <p>
            <input readOnly value={create.data.token} className="mono" size={52} onFocus={(e) => e.target.select()} aria-label="the new token" data-testid="new-token-value" />
          </p>
        </div>
      )}
      {tokens.data && tokens.data.length > 0 && (
        <div className="table-scroll">
          <table data-testid="token-list">
            <thead>
              <tr>
                <th>Name</th>
                <th>Scope</th>
                <th>Created</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id} data-testid="token-row">
                  <td>{t.name}</td>
                  <td>{t.scope}</td>
                  <td>{utc(t.createdAt)}</td>
                  <td>{t.lastUsedAt ? utc(t.lastUsedAt) : 'never'}</td>
                  <td>
                    {t.revokedAt ? (
                      <span className="muted">revoked {utc(t.revokedAt)}</span>
                    ) : (
                      <button type="button" className="link danger" disabled={revoke.isPending} onClick={() => revoke.mutate({ id: t.id })}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorLine error={tokens.error ?? revoke.error} />
    </section>
  );
}
