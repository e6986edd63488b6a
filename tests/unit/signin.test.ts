/** Sign-in's pure parts: where a callbackUrl may lead, Secure cookies, passwords, names and handles, argon2's queue. */
import { describe, expect, it } from 'vitest';
import { badNameReason, cleanName, displayNameInput, handleBase, handleInput, normaliseName } from '@/server/names';
import { Argon2Busy, BoundedQueue, isCommonPassword, weakPasswordReason } from '@/server/passwords';
import { localPath, secureCookies } from '@/server/safe-redirect';
import { clientAddress } from '@/server/limits';

describe('callbackUrl', () => {
  it('keeps a path on this site', () => {
    expect(localPath('/')).toBe('/');
    expect(localPath('/gpt2/res-jb/12?tab=top#x')).toBe('/gpt2/res-jb/12?tab=top#x');
    expect(localPath('/teams/lab')).toBe('/teams/lab');
    expect(localPath('http://localhost:3000/teams', 'http://localhost:3000')).toBe('/teams');
  });

  it.each([
    '//evil.example',
    '//evil.example/path',
    '/\\evil.example',
    '\\/evil.example',
    '/\t/evil',
    '/\n/evil.example',
    ' //evil.example',
    'https://evil.example',
    'https://evil.example/teams',
    'HTTPS://evil.example',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'http://localhost:3000@evil.example/',
  ])('sends %j to / and never to another host', (url) => {
    const path = localPath(url);
    expect(path).toBe('/');
    expect(localPath(url, 'http://localhost:3000')).toBe('/');
  });

  it('never returns a path a browser reads as another host', () => {
    for (const url of ['/.//evil.example', '/..//evil.example', '/%2F/evil', '/./\\evil']) {
      const path = localPath(url);
      expect(path.startsWith('/')).toBe(true);
      expect(path.startsWith('//')).toBe(false);
      expect(new URL(path, 'http://site.example').host).toBe('site.example');
    }
  });

  it('treats nothing, an array-less garbage value and a bad URL as /', () => {
    expect(localPath(undefined)).toBe('/');
    expect(localPath('')).toBe('/');
    expect(localPath('http://[::1')).toBe('/');
  });
});

describe('Secure cookies', () => {
  const req = (url: string, headers: Record<string, string> = {}) => ({ url, headers: new Headers(headers) });
  it('follow AUTH_URL when it is set, whatever the request says', () => {
    expect(secureCookies({ AUTH_URL: 'https://lexicon.example' }, req('http://localhost:3000/api/auth/session'))).toBe(true);
    expect(secureCookies({ AUTH_URL: 'http://localhost:3000' }, req('https://x/', { 'x-forwarded-proto': 'https' }))).toBe(false);
    expect(secureCookies({ NEXTAUTH_URL: 'https://lexicon.example' })).toBe(true);
  });
  it('else the request: x-forwarded-proto, then its URL', () => {
    expect(secureCookies({}, req('http://localhost:3000/', { 'x-forwarded-proto': 'https' }))).toBe(true);
    expect(secureCookies({}, req('http://localhost:3000/', { 'x-forwarded-proto': 'https,http' }))).toBe(true);
    expect(secureCookies({}, req('https://lexicon.example/', { 'x-forwarded-proto': 'http' }))).toBe(false);
    expect(secureCookies({}, req('https://lexicon.example/'))).toBe(true);
    expect(secureCookies({}, req('http://localhost:3000/'))).toBe(false);
    expect(secureCookies({}, null, new Headers({ 'x-forwarded-proto': 'https' }))).toBe(true);
    expect(secureCookies({}, null, null)).toBe(false);
  });
});

describe('passwords', () => {
  it('refuses short, common (any case), repeated, and the account’s own email or name, with a clear message', () => {
    expect(weakPasswordReason('short')).toMatch(/at least 8 characters/);
    expect(weakPasswordReason('password')).toMatch(/most common passwords/);
    expect(weakPasswordReason('PassWord1')).toMatch(/most common passwords/);
    expect(weakPasswordReason('qwertyuiop')).toMatch(/most common passwords/);
    expect(weakPasswordReason('aaaaaaaaaaaa')).toMatch(/repeated/);
    expect(weakPasswordReason('ada.lovelace', { email: 'ada.lovelace@example.org' })).toMatch(/your email or your name/);
    expect(weakPasswordReason('Ada Lovelace', { name: 'Ada Lovelace' })).toMatch(/your email or your name/);
    expect(weakPasswordReason('x'.repeat(201))).toMatch(/longer than 200/);
  });
  it('accepts what the tests and the browser specs use', () => {
    for (const p of ['correct horse', 'battery staple', 'a long password', 'long enough', 'whatever123', 'bench password 123']) {
      expect(weakPasswordReason(p), p).toBeNull();
    }
    expect(isCommonPassword('correct horse')).toBe(false);
  });
});

describe('argon2 queue', () => {
  it('runs at most N at once, queues at most M, refuses the rest at once with a busy error', async () => {
    const queue = new BoundedQueue(2, 3);
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    const task = () =>
      queue.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return 'done';
      });
    const accepted = Array.from({ length: 5 }, task);
    await new Promise((r) => setTimeout(r, 10));
    expect(queue.stats).toEqual({ running: 2, waiting: 3 });
    await expect(task()).rejects.toBeInstanceOf(Argon2Busy);
    await expect(task()).rejects.toThrow(/busy checking passwords: try again/);
    while (releases.length > 0 || running > 0) {
      releases.splice(0).forEach((r) => r());
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await Promise.all(accepted)).toEqual(Array(5).fill('done'));
    expect(most).toBe(2);
    expect(queue.stats).toEqual({ running: 0, waiting: 0 });
  });
});

describe('names', () => {
  it('are NFKC-normalised, their white space collapsed', () => {
    expect(normaliseName('  Ａｄａ　Ｌｏｖｅｌａｃｅ ')).toBe('Ada Lovelace');
    expect(normaliseName('ﬁona')).toBe('fiona');
    expect(normaliseName('Ada\u00a0\u00a0Lovelace')).toBe('Ada Lovelace');
    expect(displayNameInput.parse('Ｂｏ')).toBe('Bo');
    expect(displayNameInput.parse('Zoë Ångström')).toBe('Zoë Ångström');
  });
  it.each([
    ['a zero-width space', 'Ada\u200bLovelace', '200B'],
    ['a zero-width joiner', 'Ad\u200da', '200D'],
    ['a right-to-left override', 'Ada\u202eecalevol', '202E'],
    ['a right-to-left isolate', '\u2067Ada', '2067'],
    ['a left-to-right mark', 'Ada\u200e', '200E'],
    ['a byte-order mark', '\ufeffAda', 'FEFF'],
    ['a soft hyphen', 'A\u00adda', '00AD'],
    ['a Hangul filler (NFKC makes it U+1160, also refused)', 'Ada\u3164', '1160'],
    ['a newline', 'Ada\nLovelace', '000A'],
    ['a control character', 'Ada\u0007', '0007'],
  ])('refuse %s', (_what, name, code) => {
    expect(badNameReason(normaliseName(name))).toContain(`U+${code}`);
    expect(displayNameInput.safeParse(name).success).toBe(false);
  });
  it('from GitHub are cleaned rather than refused', () => {
    expect(cleanName('Ａｄａ\u202e\u200b Lovelace')).toBe('Ada Lovelace');
    expect(cleanName('\u200b')).toBeNull();
    expect(cleanName(null)).toBeNull();
  });
  it('refuse an empty or too long name', () => {
    expect(displayNameInput.safeParse('   ').success).toBe(false);
    expect(displayNameInput.safeParse('x'.repeat(81)).success).toBe(false);
  });
});

describe('handles', () => {
  it('start from the name (accents folded), else the email’s local part', () => {
    expect(handleBase('Ada Lovelace', 'ada@example.org')).toBe('adalovelace');
    expect(handleBase('Zoë Ångström', null)).toBe('zoeangstrom');
    expect(handleBase('李雷', 'li.lei@example.org')).toBe('li.lei');
    expect(handleBase(null, '-octo.cat-@example.org')).toBe('octo.cat');
    expect(handleBase('!!!', '...@example.org')).toBe('');
    expect(handleBase('a'.repeat(50), null)).toHaveLength(30);
  });
  it('are set as mentions match them', () => {
    expect(handleInput.parse('@Ada_L')).toBe('ada_l');
    expect(handleInput.safeParse('ada lovelace').success).toBe(false);
    expect(handleInput.safeParse('-ada').success).toBe(false);
    expect(handleInput.safeParse('ada.').success).toBe(false);
    expect(handleInput.safeParse('').success).toBe(false);
  });
});

describe('client address', () => {
  it('is the last x-forwarded-for entry (what the nearest proxy saw)', () => {
    expect(clientAddress(new Headers({ 'x-forwarded-for': '203.0.113.9, 10.0.0.2' }))).toBe('10.0.0.2');
    expect(clientAddress(new Headers({ 'x-forwarded-for': '::1' }))).toBe('::1');
    expect(clientAddress(new Headers())).toBeNull();
    expect(clientAddress(undefined)).toBeNull();
  });
});
