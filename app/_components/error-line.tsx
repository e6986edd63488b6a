/** What went wrong (a failed mutation, a refused form, a failed job), announced to screen readers. Nothing when none. */
export function ErrorLine({
  error,
  inline = false,
  small = false,
  testId,
}: {
  error: { message: string } | string | null | undefined | false;
  /** a span beside a button instead of a paragraph */
  inline?: boolean;
  small?: boolean;
  testId?: string;
}) {
  if (!error) return null;
  const Tag = inline ? 'span' : 'p';
  return (
    <Tag className={small ? 'error small' : 'error'} role="alert" data-testid={testId}>
      {typeof error === 'string' ? error : error.message}
    </Tag>
  );
}
