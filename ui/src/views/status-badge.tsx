/** A job's status as text with a colour (the text alone carries the meaning). */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status.toLowerCase()}`}>{status.replace("_", " ")}</span>;
}

/** A progress bar with its value as text; `<progress>` is accessible and needs no inline style. */
export function ProgressBar({ percent, label }: { percent: number | undefined; label: string }) {
  const value = percent ?? 0;
  return (
    <span class="progress">
      <progress max={100} value={value} aria-label={label} data-percent={String(value)} />
      <span class="progress-text">{percent === undefined ? "—" : `${Math.round(value * 10) / 10} %`}</span>
    </span>
  );
}
