import { TRPCError } from '@trpc/server';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { api } from '@/server/api/server-caller';
import { featureHref, formatFeatureAddress, parseFeatureAddress } from '@/server/addresses';
import type { LogitHit, TokenHit, TokenMatch, VocabToken } from '@/server/search';
import { displayPiece } from '@/server/token-piece';
import { formatFraction, formatValue } from '../_components/token-format';
import { TopFeaturesPanel } from '../_components/top-features-panel';

export const metadata: Metadata = { title: 'Search · Lexicon' };

type Search = Record<string, string | string[] | undefined>;
const one = (s: Search, k: string) => (typeof s[k] === 'string' ? (s[k] as string) : '');

/** ⟦match⟧ markers from ts_headline as <mark> (the rest is plain text: React escapes it). */
function Snippet({ text }: { text: string }) {
  const parts = text.split(/⟦|⟧/);
  return (
    <>
      {parts.map((part, i) => (i % 2 === 1 ? <mark key={i}>{part}</mark> : <span key={i}>{part}</span>))}
    </>
  );
}

function Piece({ token }: { token: VocabToken }) {
  return (
    <code className="tok" title={`token ${token.id}: ${JSON.stringify(token.piece)}`}>
      {displayPiece(token.piece)}
    </code>
  );
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What the typed text matched, and by which mode: the line above the token results. */
function MatchSummary({ q, model, match }: { q: string; model: string; match: TokenMatch }) {
  const typed = <code className="tok">{displayPiece(q)}</code>;
  if (match.tokens.length === 0) {
    return (
      <h2>
        No token of {model} {match.mode === 'substring' ? 'contains' : 'is'} {typed}
      </h2>
    );
  }
  switch (match.mode) {
    case 'exact':
      return match.tokens.length === 1 ? (
        <p>
          {typed} is one token (id {match.tokens[0]!.id}, exact piece): <Piece token={match.tokens[0]!} />
        </p>
      ) : (
        <p>
          {typed} is the piece of {match.tokens.length} tokens (exact piece, or ignoring surrounding spaces):{' '}
          {match.tokens.map((t) => (
            <Piece key={t.id} token={t} />
          ))}
        </p>
      );
    case 'tokenised':
      return (
        <div>
          <p>No token&apos;s piece is {typed}; the model&apos;s tokenizer splits it (features for each token below):</p>
          <ul data-testid="token-spellings">
            {match.spellings.map((s) => (
              <li key={s.text}>
                {s.text.startsWith(' ') ? 'as a word of its own, ' : 'inside a longer word, '}
                <code className="tok">{s.text}</code> becomes {plural(s.tokens.length, 'token', 'tokens')}:{' '}
                {s.tokens.map((t, i) => (
                  <Piece key={i} token={t} />
                ))}
              </li>
            ))}
          </ul>
        </div>
      );
    case 'substring':
      return (
        <p>
          {plural(match.total, 'token contains', 'tokens contain')} {typed}, ignoring case (showing{' '}
          {match.tokens.length < match.total ? `the first ${match.tokens.length}, shortest first` : match.tokens.length}):{' '}
          {match.tokens.map((t) => (
            <Piece key={t.id} token={t} />
          ))}
        </p>
      );
  }
}

/**
 * One of the features-by-token tables: each feature's address, the token it matched when several did (`tokens`), its
 * label, then the table's own numbers.
 */
function TokenFeatures<H extends TokenHit | LogitHit>(props: {
  title: string;
  note: string;
  none: string;
  hits: H[];
  tokens: Map<number, VocabToken> | null;
  testId: string;
  values: { header: string; cell: (hit: H) => ReactNode; mono?: boolean }[];
}) {
  const { hits, tokens } = props;
  return (
    <section>
      <h2>{props.title}</h2>
      <p className="muted small">{props.note}</p>
      {hits.length === 0 ? (
        <p className="muted">{props.none}</p>
      ) : (
        <table data-testid={props.testId}>
          <thead>
            <tr>
              <th>feature</th>
              {tokens && <th>token</th>}
              <th>label</th>
              {props.values.map((v) => (
                <th key={v.header} className="num">
                  {v.header}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {hits.map((h) => (
              <tr key={`${h.sae}/${h.index}/${h.tokenId}`}>
                <td className="mono nowrap">
                  <Link href={featureHref(h)}>
                    {h.sae}/{h.index}
                  </Link>
                </td>
                {tokens && <td>{tokens.has(h.tokenId) && <Piece token={tokens.get(h.tokenId)!} />}</td>}
                <td>{h.label ?? <span className="muted">—</span>}</td>
                {props.values.map((v) => (
                  <td key={v.header} className={v.mono ? 'num mono' : 'num'}>
                    {v.cell(h)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function density(d: number | null) {
  if (d === null) return <span className="muted">—</span>;
  return d === 0 ? 'dead' : formatFraction(d);
}

/**
 * Search: a feature address goes straight to its page; otherwise labels and descriptions (full-text, ranked), or a
 * token: the features that fire most on it and those with it among their top logits.
 */
export default async function SearchPage(props: { searchParams: Promise<Search> }) {
  const search = await props.searchParams;
  const q = one(search, 'q').slice(0, 500);
  const mode = (['token', 'inference'] as const).find((m) => m === one(search, 'mode')) ?? 'text';
  const match = one(search, 'match') === 'substring' ? 'substring' : 'word';
  const model = one(search, 'model');
  const sae = one(search, 'sae');
  const address = parseFeatureAddress(q);
  if (address) redirect(featureHref(address));

  const caller = await api();
  let tokenError: string | null = null;
  const [models, me, saes, text, token] = await Promise.all([
    caller.model.list(),
    caller.auth.me(),
    model ? caller.sae.byModel({ model }).catch(() => []) : Promise.resolve([]),
    mode === 'text' && q.trim() ? caller.search.text({ q, model: model || undefined, sae: (model && sae) || undefined }) : Promise.resolve(null),
    mode === 'token' && q !== '' && model
      ? caller.search.token({ token: q, match, model, sae: sae || undefined }).catch((err: unknown) => {
          // text it cannot search (too long, a model without tokenizer files) is said on the page; anything else is a bug
          if (!(err instanceof TRPCError && err.code === 'BAD_REQUEST')) throw err;
          tokenError = err.message;
          return null;
        })
      : Promise.resolve(null),
  ]);
  const pieceOf = new Map(token?.match.tokens.map((t) => [t.id, t]) ?? []);
  const severalTokens = pieceOf.size > 1;
  const needsModel = mode !== 'text' && !model;
  return (
    <>
      <h1>Search</h1>
      <form method="get" action="/search" className="filters search-form" role="search">
        <label className="grow">
          {{ token: 'Token', inference: 'Text to run the model on', text: 'Label, description or feature address' }[mode]}
          <input
            name="q"
            defaultValue={q}
            type="search"
            placeholder={{ token: 'e.g. the', inference: 'e.g. Once upon a time', text: 'e.g. base64, or stories260K/2-res/17' }[mode]}
            autoFocus
          />
        </label>
        <label>
          Search
          <select name="mode" defaultValue={mode}>
            <option value="text">labels and descriptions</option>
            <option value="token">by token</option>
            <option value="inference">by inference (features that fire on a text)</option>
          </select>
        </label>
        <label>
          Model
          <select name="model" defaultValue={model}>
            <option value="">all models</option>
            {models.map((m) => (
              <option key={m.slug} value={m.slug}>
                {m.slug}
              </option>
            ))}
          </select>
        </label>
        {mode === 'token' && (
          <label>
            Match
            <select name="match" defaultValue={match}>
              <option value="word">the piece, else its tokens</option>
              <option value="substring">pieces containing it</option>
            </select>
          </label>
        )}
        {model && saes.length > 0 && (
          <label>
            SAE
            <select name="sae" defaultValue={sae}>
              <option value="">all SAEs</option>
              {saes.map((s) => (
                <option key={s.slug} value={s.slug}>
                  {s.slug}
                </option>
              ))}
            </select>
          </label>
        )}
        <button type="submit">Search</button>
      </form>
      <p className="muted small" hidden={mode !== 'text'}>
        Words match their stems (“detectors” finds “detector”), the last word also as a prefix; use “quotes” for a phrase, <code>or</code> and{' '}
        <code>-word</code>. A feature address (<code>model/sae/index</code>) opens that feature.
      </p>

      {needsModel && mode === 'token' && <p className="error">Choose a model to search by token: token ids belong to a model&apos;s vocabulary.</p>}
      {needsModel && mode === 'inference' && <p className="error">Choose a model to search by inference: its SAEs are run on the text.</p>}
      {mode === 'inference' && model && <TopFeaturesPanel key={`${model}/${sae}/${q}`} model={model} sae={sae || undefined} initialText={q} canCompute={!!me} />}
      {tokenError && (
        <p className="error" data-testid="token-error">
          {tokenError}
        </p>
      )}

      {text && (
        <section data-testid="text-results">
          <h2>
            {text.length === 0 ? 'No feature page matches' : `${text.length}${text.length === 50 ? '+' : ''} matching features`} “{q}”
          </h2>
          {text.length > 0 && (
            <div className="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th>feature</th>
                    <th>label</th>
                    <th>description</th>
                    <th className="num">density</th>
                  </tr>
                </thead>
                <tbody>
                  {text.map((h) => (
                    <tr key={formatFeatureAddress(h)}>
                      <td className="mono nowrap">
                        <Link href={featureHref(h)}>
                          {h.model}/{h.sae}/{h.index}
                        </Link>
                      </td>
                      <td>{h.label || <span className="muted">—</span>}</td>
                      <td className="small">
                        <Snippet text={h.snippet} />
                      </td>
                      <td className="num mono">{density(h.density)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}

      {token && (
        <section data-testid="token-results">
          <div data-testid="token-match">
            <MatchSummary q={q} model={model} match={token.match} />
          </div>
          {token.match.tokens.length > 0 && (
            <>
              <div className="grid-2">
                <TokenFeatures
                  title={`Fire most on ${severalTokens ? 'them' : 'it'}`}
                  note="Features whose top examples peak on the token most often (then by activation)."
                  none="No feature's top examples peak on it."
                  hits={token.firing}
                  tokens={severalTokens ? pieceOf : null}
                  testId="token-firing"
                  values={[
                    { header: 'top examples', cell: (h) => h.examples },
                    { header: 'max act', cell: (h) => formatValue(h.maxAct), mono: true },
                  ]}
                />
                <TokenFeatures
                  title={`Have ${severalTokens ? 'them' : 'it'} in their top logits`}
                  note="Features whose decoder direction raises the token's logit most (W_dec·W_U)."
                  none="No feature has it among its top logits."
                  hits={token.logits}
                  tokens={severalTokens ? pieceOf : null}
                  testId="token-logits"
                  values={[{ header: 'logit weight', cell: (h) => formatValue(h.weight), mono: true }]}
                />
              </div>
            </>
          )}
        </section>
      )}
    </>
  );
}
