/**
 * Display names and @handles.
 *
 * A display name is stored NFKC-normalised (full-width letters, ligatures and compatibility spaces become their plain
 * forms), its runs of white space one space, trimmed; a name with an invisible or direction-control character (zero
 * width spaces and joiners, bidi embeddings, overrides and isolates, other format and control characters, Hangul
 * fillers, …) is refused, so two accounts cannot look alike through characters nobody sees, and a name cannot turn
 * the text around it right to left.
 *
 * A handle is what an @mention names: lower case letters, digits, `.`, `_`, `-` (what server/markdown.ts's mention
 * pattern matches), unique. Sign-up takes one from the name (accents folded), else the email's local part, with a
 * numeric suffix when it is taken (`ada`, `ada2`, …); its owner may change it.
 */
import { z } from 'zod';

/** invisible, format (bidi controls included), control, private-use and line/paragraph separator characters */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u2800\u3164\uFFA0\uFE00-\uFE0F]/u;

export const MAX_NAME_LENGTH = 80;

/**
 * NFKC, runs of spaces one space, trimmed. Only space separators (\p{Zs}) count as spaces here: a tab, a newline
 * or a byte-order mark is left in place, for badNameReason to refuse.
 */
export function normaliseName(name: string): string {
  return name.normalize('NFKC').replace(/\p{Zs}+/gu, ' ').replace(/^ | $/g, '');
}

/**
 * A name from elsewhere (a GitHub profile), which cannot be refused: normalised, its invisible and direction-control
 * characters dropped, cut to MAX_NAME_LENGTH; null when nothing is left.
 */
export function cleanName(name: string | null | undefined): string | null {
  const clean = normaliseName(normaliseName(name ?? '').replace(new RegExp(INVISIBLE.source, 'gu'), ''))
    .replace(/^\p{M}+/u, '')
    .slice(0, MAX_NAME_LENGTH)
    .trim();
  return clean || null;
}

/** Why `name` (already normalised) cannot be a display name, or null. */
export function badNameReason(name: string): string | null {
  if (name.length === 0) return 'name is required';
  if (name.length > MAX_NAME_LENGTH) return `name is longer than ${MAX_NAME_LENGTH} characters`;
  const bad = INVISIBLE.exec(name);
  if (bad) return `name has an invisible or direction-control character (U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
  if (/^\p{M}/u.test(name)) return 'name must not start with a combining mark';
  return null;
}

/** A display name as input: normalised, then refused with a message naming the problem. */
export const displayNameInput = z
  .string()
  .transform(normaliseName)
  .superRefine((name, ctx) => {
    const reason = badNameReason(name);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  });

/** What a handle is: server/markdown.ts's mention pattern, lower case. */
export const HANDLE_PATTERN = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9_])?$/;

/** `@Ada Lovelace`, `adalovelace` → `adalovelace`: a handle as it is looked up (no @, no spaces, any case). */
export const normaliseHandle = (handle: string) => handle.replace(/^\s*@/, '').replace(/\s/g, '').toLowerCase();

/** A handle as its owner sets it: an @ in front and any case are fine; spaces are not. */
export const handleInput = z
  .string()
  .transform((h) => h.trim().replace(/^@/, '').toLowerCase())
  .refine((h) => HANDLE_PATTERN.test(h), 'a handle is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit and not ending with a dot or dash');

/**
 * The handle sign-up starts from: `name` (accents folded, then only the characters a handle may have), else the
 * email's local part; '' when neither gives anything (the database then uses "user"). At most 30 characters.
 */
export function handleBase(name: string | null | undefined, email: string | null | undefined): string {
  const clean = (s: string) =>
    s
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '')
      .replace(/^[._-]+/, '')
      .slice(0, 30)
      .replace(/[.-]+$/, '');
  return clean(name ?? '') || clean((email ?? '').split('@')[0]!) || '';
}
