import Link from 'next/link';
import type { Metadata } from 'next';
import { api } from '@/server/api/server-caller';
import { canMakeLists } from '@/server/lists';
import { modelHref, saeHref } from '@/server/addresses';
import { FeatureTable, tableParams } from '../../../_components/feature-table';
import { orNotFound } from '../../../_lib/not-found';
import { AddToList } from '../../../_components/add-to-list';

/** The form the rows' checkboxes belong to. */
const SELECTION_FORM = 'feature-selection';

type Params = { model: string; sae: string };

export async function generateMetadata({ params }: { params: Promise<Params> }): Promise<Metadata> {
  const { model, sae } = await params;
  return { title: `Features of ${model}/${sae} · Lexicon` };
}

/** The whole feature table of an SAE: sorting, filters and keyset pagination, all in the URL. */
export default async function FeaturesPage(props: { params: Promise<Params>; searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const [{ model, sae }, search] = await Promise.all([props.params, props.searchParams]);
  const params = tableParams(search);
  const caller = await api();
  const mePromise = caller.auth.me();
  const page = await orNotFound(caller.sae.features({ model, sae, ...params, limit: 50 }).catch((err) => {
    // A hand-edited cursor: show the first page rather than an error.
    if ((err as { code?: string }).code === 'BAD_REQUEST') return caller.sae.features({ model, sae, ...params, after: undefined, before: undefined, limit: 50 });
    throw err;
  }));
  const me = await mePromise;
  const canList = canMakeLists(me);
  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href={modelHref(model)}>{model}</Link> / <Link href={saeHref({ model, sae })}>{sae}</Link> / <span>features</span>
      </nav>
      <h1>
        Features of {model}/{sae}
      </h1>
      <p className="muted small">
        Densities are fractions of the tokens of the SAE&apos;s current dashboard run; hover one for
        the exact value and token count.
      </p>
      <FeatureTable
        model={model}
        sae={sae}
        base={`${saeHref({ model, sae })}/features`}
        params={params}
        page={page}
        ultraRareDensity={page.ultraRareDensity}
        selectionForm={canList ? SELECTION_FORM : undefined}
        rowsOnce
      />
      {canList && page.rows.length > 0 && <AddToList model={model} sae={sae} formId={SELECTION_FORM} action="Add selected to list" />}
    </>
  );
}
