import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { featureAddressInput } from '@/server/address-inputs';
import { ROUTES } from '@/server/api/rest/routes';
import {
  featureHistoryHref,
  featureHref,
  formatFeatureAddress,
  formatSaeAddress,
  parseFeatureAddress,
  parseSaeAddress,
  RESERVED_MODEL_SLUGS,
  saeHref,
  SLUG,
} from '@/server/addresses';

describe('feature and SAE addresses', () => {
  it('parse model/sae/index as typed, linked or pasted as a page URL', () => {
    const address = { model: 'stories260K', sae: 'l2.res_v1', index: 17 };
    for (const text of ['stories260K/l2.res_v1/17', '  [[stories260K/l2.res_v1/17]] ', '/stories260K/l2.res_v1/17/', 'https://wiki.example.org/stories260K/l2.res_v1/17?tab=examples#top'])
      expect(parseFeatureAddress(text), text).toEqual(address);
    for (const text of ['stories260K/l2/x', 'stories260K/17', '-model/l2/1', 'a/b/1234567890', 'a/b/c/1', ''])
      expect(parseFeatureAddress(text), text).toBeUndefined();
  });

  it('format back to what they parse from, and to the URLs of their pages', () => {
    const feature = { model: 'gpt2-small', sae: '6-res-jb', index: 1234 };
    expect(formatFeatureAddress(feature)).toBe('gpt2-small/6-res-jb/1234');
    expect(parseFeatureAddress(formatFeatureAddress(feature))).toEqual(feature);
    expect(formatSaeAddress(feature)).toBe('gpt2-small/6-res-jb');
    expect(parseSaeAddress(' gpt2-small/6-res-jb ')).toEqual({ model: 'gpt2-small', sae: '6-res-jb' });
    expect(parseSaeAddress('gpt2-small/6-res-jb/1')).toBeUndefined();
    expect(featureHref(feature)).toBe('/gpt2-small/6-res-jb/1234');
    expect(featureHistoryHref(feature)).toBe('/gpt2-small/6-res-jb/1234/history');
    expect(saeHref(feature)).toBe('/gpt2-small/6-res-jb');
  });

  it('take slugs as registered and feature indices as PostgreSQL integers', () => {
    expect(['stories260K', 'l2.res_v1', '6-res-jb'].every((s) => SLUG.test(s))).toBe(true);
    expect(['', '.hidden', '-x', 'a/b', 'a b'].some((s) => SLUG.test(s))).toBe(false);
    expect(featureAddressInput.safeParse({ model: 'm', sae: 's', index: 2 ** 31 - 1 }).success).toBe(true);
    expect(featureAddressInput.safeParse({ model: 'm', sae: 's', index: 2 ** 31 }).success).toBe(false);
    expect(featureAddressInput.safeParse({ model: '', sae: 's', index: 0 }).success).toBe(false);
  });
});

describe('reserved model slugs', () => {
  it("name every top-level page of the site and every literal first segment of the REST API's routes", () => {
    const pages = fs
      .readdirSync(path.join(__dirname, '../../app'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && SLUG.test(entry.name))
      .map((entry) => entry.name);
    const api = ROUTES.map((route) => route.path.split('/')[1]).filter((segment) => !segment.startsWith('{'));
    expect(pages).toContain('admin');
    expect(api).toContain('jobs');
    for (const name of [...pages, ...api]) expect(RESERVED_MODEL_SLUGS.has(name), name).toBe(true);
  });
});
