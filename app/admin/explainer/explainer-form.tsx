'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { ExplainerStatus } from '@/server/explainer/settings';
import { useTRPC } from '../../trpc';
import { ErrorLine } from '../../_components/error-line';

/** The endpoint's settings; the key field is write-only (left empty, the stored key stays). */
export function ExplainerForm({ initial }: { initial: ExplainerStatus }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { data } = useQuery(trpc.admin.explainer.queryOptions(undefined, { initialData: initial }));
  const status = data ?? initial;
  const [baseUrl, setBaseUrl] = useState(initial.baseUrl ?? '');
  const [model, setModel] = useState(initial.model ?? '');
  const [apiKey, setApiKey] = useState('');
  const [rpm, setRpm] = useState(String(initial.requestsPerMinute ?? 60));
  const saved = (next: ExplainerStatus) => {
    setApiKey('');
    queryClient.setQueryData(trpc.admin.explainer.queryKey(), next);
  };
  const save = useMutation(trpc.admin.setExplainer.mutationOptions({ onSuccess: saved }));
  const clear = useMutation(trpc.admin.clearExplainer.mutationOptions({ onSuccess: saved }));
  return (
    <>
      <p data-testid="explainer-status">
        {status.configured ? (
          <>
            Now: <strong>{status.model}</strong> at <code>{status.baseUrl}</code> · key <strong data-testid="explainer-key">{status.keySet ? 'set' : 'not set'}</strong> ·{' '}
            {status.requestsPerMinute} requests/min · from {status.source === 'settings' ? 'these settings' : 'the environment'}
          </>
        ) : (
          'No endpoint is configured: automatic explanations are off.'
        )}
      </p>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({ baseUrl, model, requestsPerMinute: Number(rpm), ...(apiKey !== '' && { apiKey }) });
        }}
      >
        <label>
          Base URL <input value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder="http://127.0.0.1:8000/v1" size={40} required />
        </label>
        <label>
          Model <input value={model} onChange={(e) => setModel(e.target.value)} placeholder="e.g. Qwen2.5-7B-Instruct" size={30} required />
        </label>
        <label>
          API key{' '}
          <input
            type="password"
            value={apiKey}
            onChange={(e) => setApiKey(e.target.value)}
            placeholder={status.keySet ? 'set (leave empty to keep it)' : 'not set'}
            size={30}
            autoComplete="off"
          />
        </label>
        <label>
          Requests per minute <input type="number" min={1} max={10000} value={rpm} onChange={(e) => setRpm(e.target.value)} />
        </label>
        <div className="row">
          <button type="submit" disabled={save.isPending}>
            Save
          </button>
          {status.source === 'settings' && (
            <button type="button" className="secondary" disabled={clear.isPending} onClick={() => clear.mutate()}>
              Remove these settings
            </button>
          )}
        </div>
      </form>
      <ErrorLine error={save.error ?? clear.error} />
    </>
  );
}
