/** The job kinds' registry: results checked against their kind's schema, and what evidence comparisons keep. */
import { describe, expect, it } from 'vitest';
import { doneResult, EVIDENCE_JOB_TYPES, JOB_TYPES, jobKinds, parseResult } from '@/jobs';

const activations = { tokens: [1, 2], pieces: ['<s>', ' Lily'], features: { '5': [0, 1.5] }, top: [[], [{ feature: 5, act: 1.5 }]] };

describe('job kinds', () => {
  it('registers each kind with an expiry, a title and schemas; the evidence kinds are those that say what a re-run must reproduce', () => {
    expect(JOB_TYPES).toContain('top-features');
    for (const type of JOB_TYPES) {
      expect(jobKinds[type].expirySeconds).toBeGreaterThan(0);
      expect(jobKinds[type].title).not.toBe('');
    }
    expect(EVIDENCE_JOB_TYPES).toEqual(['activations', 'ablate', 'steer', 'steer-generate']);
  });

  it('reads a result that fits its schema, and names where one does not', () => {
    expect(parseResult('activations', activations)).toEqual(activations);
    expect(() => parseResult('activations', { ...activations, features: { '5': [0, Number.NaN] } })).toThrow(
      /^the activations job's result does not match its schema: features\.5\[1\]: .*NaN/,
    );
    expect(() => parseResult('ablate', { tokens: [1], acts: [0], lossClean: [], lossAblated: [], logitDeltas: [], kl: [0] })).toThrow(
      "the ablate job's result does not match its schema: pieces: Invalid input: expected array, received undefined",
    );
    expect(() => parseResult('top-features', {
        tokens: [1],
        pieces: ['<s>'],
        positions: [0],
        densityRun: null,
        features: [{ feature: 3, maxAct: 1, position: 0, firing: 1, sum: 1, acts: [1], density: null }],
      })).toThrow(
      "the top-features job's result does not match its schema: features[0].label: Invalid input: expected string, received undefined",
    );
  });

  it('gives a job record’s result only when it is of the kind, done and not redacted', () => {
    const job = { type: 'activations', status: 'done', result: activations };
    expect(doneResult('activations', job)).toEqual(activations);
    expect(doneResult('ablate', job)).toBeNull();
    expect(doneResult('activations', { ...job, status: 'running' })).toBeNull();
    expect(doneResult('activations', { ...job, result: null, redacted: true })).toBeNull();
  });

  it('keeps of an evidence result only what a re-run must reproduce', () => {
    expect(jobKinds.activations.evidence.parse(activations)).toEqual({ tokens: [1, 2], features: { '5': [0, 1.5] } });
    const point = { coefficient: 0, loss: 2, top: [{ id: 3, piece: 'a', prob: 0.5 }], targetLogit: null };
    expect(jobKinds.steer.evidence.parse({ tokens: [1], target: null, coefficients: [0], results: [point], pieces: ['<s>'] })).toEqual({
      tokens: [1],
      coefficients: [0],
      results: [{ loss: 2, targetLogit: null }],
    });
  });
});
