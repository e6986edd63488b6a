'use client';
/**
 * One view per job kind's result, shared by the feature page's panels and the hypothesis page's evidence. Each takes
 * its kind's result as jobs/kinds/ types it (parsed where it entered: `doneResult` for a job record, the evidence row
 * on the server), so no view casts.
 */
import type { EvidenceJobType, JobResult } from '@/jobs';
import { AblationView } from './ablate';
import { ActivationsView } from './activations';
import { SteeringView } from './steer';
import { SteeredGenerationView } from './steer-generate';

export interface ResultViewProps<T extends EvidenceJobType> {
  result: JobResult<T>;
  /** the feature the result is read for (the feature page's, the evidence's) */
  feature: number;
  /** its dashboard maximum, for the shading scale (0: unknown) */
  maxAct?: number;
  /** the evidence page's short form: the summary and the shaded text or the curve, no tables */
  compact?: boolean;
  /** prefix of the test ids: `${testId}-result`, `${testId}-tokens`, … */
  testId: string;
}

/** A result of a kind that can be evidence, shown by its kind's view. */
export type KindResult = { [K in EvidenceJobType]: { kind: K; result: JobResult<K> } }[EvidenceJobType];

export function JobResultView(props: KindResult & Omit<ResultViewProps<EvidenceJobType>, 'result'>) {
  switch (props.kind) {
    case 'activations':
      return <ActivationsView {...props} />;
    case 'ablate':
      return <AblationView {...props} />;
    case 'steer':
      return <SteeringView {...props} />;
    case 'steer-generate':
      return <SteeredGenerationView {...props} />;
    default:
      return unknownKind(props);
  }
}

/** a kind that can be evidence and has no view here is a type error */
function unknownKind(props: never): never {
  throw new Error(`no view for ${(props as { kind: string }).kind} results`);
}
