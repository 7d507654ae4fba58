import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { AffinityBundle, trainAffinityModel } from '../../../models/affinity/train';
import { BundleFiles, verifiedBundleOf, verifyBundle } from '../../../shared/affinity/bundle';

let trained: AffinityBundle;

beforeAll(async () => {
  const interactions = generateSyntheticInteractions({ users: 40, items: 30, interactions: 600, seed: 2 });
  trained = await trainAffinityModel(interactions, { lambda: 10, evaluate: false, version: 'b1' });
});

describe('verifiedBundleOf', () => {
  it('passes on what verifyBundle returned as it is, with the very files it verified', () => {
    const verified = verifyBundle(trained.files);
    expect(verifiedBundleOf(verified)).toBe(verified);
    for (const name of Object.keys(trained.files) as Array<keyof BundleFiles>)
      expect(verified.files[name]).toBe(trained.files[name]);
    expect(Object.isFrozen(verified.files)).toBe(true);
  });

  it('verifies files, and the files of an object that merely looks verified', () => {
    expect(verifiedBundleOf(trained.files).manifest.version).toBe('b1');
    const verified = verifyBundle(trained.files);
    const forged = {
      ...verified,
      files: { ...verified.files, 'coldStart.json': Buffer.from('{"global":[],"byContext":{}}') },
    };
    expect(() => verifiedBundleOf(forged)).toThrow('coldStart.json does not match its digest');
  });
});
