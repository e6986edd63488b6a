/**
 * Input errors as a person would write them: "the label is longer than 200 characters", "the proposal id is not a
 * valid uuid". A schema's own message (written as such a sentence) is kept; zod's generic ones ("Too small: expected
 * string to have >=1 characters") are rewritten from the issue, naming the field. Never zod's "✖ … → at input".
 */
import type { ZodError } from 'zod';

type Issue = ZodError['issues'][number];

/** `proposalId` → "the proposal id"; nothing for a whole-input issue. */
function fieldName(path: readonly PropertyKey[]): string | null {
  const last = [...path].reverse().find((p) => typeof p === 'string');
  return last ? `the ${last.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}` : null;
}

const GENERIC = /^(Too small|Too big|Invalid|Unrecognized)/;

function sentence(issue: Issue): string {
  const field = fieldName(issue.path);
  if (!GENERIC.test(issue.message)) return issue.message;
  const what = field ?? 'the input';
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? `${what} is empty` : `${what} is shorter than ${issue.minimum} characters`;
      if (issue.origin === 'array' || issue.origin === 'set') return `${what} needs at least ${issue.minimum}`;
      return `${what} must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `${what} is longer than ${issue.maximum} characters`;
      if (issue.origin === 'array' || issue.origin === 'set') return `${what} has more than ${issue.maximum}`;
      return `${what} must be at most ${issue.maximum}`;
    case 'invalid_type':
      return issue.input === undefined ? `${what} is missing` : `${what} should be a ${issue.expected}`;
    case 'invalid_format':
      return `${what} is not a valid ${issue.format}`;
    case 'invalid_value':
      return `${what} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unexpected ${issue.keys.join(', ')}`;
    default:
      return field ? `${field}: ${issue.message.toLowerCase()}` : issue.message.toLowerCase();
  }
}

/** Every distinct problem, one sentence each, joined by "; ". */
export function readableInputError(error: ZodError): string {
  return [...new Set(error.issues.map(sentence))].join('; ');
}
