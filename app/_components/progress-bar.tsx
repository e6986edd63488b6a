/** Labelled / total as a bar with the numbers written out (the bar is decoration; the text carries the value). */
export function ProgressBar(props: { done: number; total: number; label?: string }) {
  const fraction = props.total > 0 ? Math.min(1, props.done / props.total) : 0;
  const pct = 100 * fraction;
  return (
    <span className="progress" data-testid="label-progress">
      <span
        className="progress-track"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={props.total}
        aria-valuenow={props.done}
        aria-label={props.label ?? 'labelled'}
      >
        <span className="progress-fill" style={{ width: `${pct}%` }} />
      </span>
      <span className="progress-text">
        {props.done.toLocaleString('en')} / {props.total.toLocaleString('en')} labelled
        <span className="muted"> ({pct > 0 && pct < 1 ? pct.toFixed(2) : pct.toFixed(1)}%)</span>
      </span>
    </span>
  );
}
