/** The discussion part of a feature page: its backlinks ("discussed in") and its comment thread. */
import { Backlinks } from './backlinks';
import { CommentThread } from './comment-thread';

export function FeatureDiscussion(props: { model: string; sae: string; saeId: string; index: number }) {
  return (
    <div data-testid="feature-discussion">
      <Backlinks address={{ model: props.model, sae: props.sae, index: props.index }} />
      <CommentThread target={{ kind: 'feature', saeId: props.saeId, index: props.index }} />
    </div>
  );
}
