import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleError, parseManifest, readBundle, writeBundle } from '../../../shared/campaign/bundle';
import { trainSmallCampaignModel } from './fixtures';

describe('campaign model bundle', () => {
  it('round-trips through a directory and refuses a malformed manifest, naming the field', async () => {
    const { bundle } = await trainSmallCampaignModel(1500);
    const dir = await mkdtemp(join(tmpdir(), 'campaign-bundle-'));
    try {
      await writeBundle(dir, bundle);
      const read = await readBundle(dir);
      expect(read.manifest).toEqual(JSON.parse(JSON.stringify(bundle.manifest)));
      expect(Buffer.from(read.onnx).equals(Buffer.from(bundle.onnx))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const broken = { ...bundle.manifest, encoding: { ...bundle.manifest.encoding, dimensions: [] } };
    expect(() => parseManifest(JSON.stringify(broken), 'm.json')).toThrow(
      'm.json: field encoding.dimensions:',
    );
    expect(() => parseManifest('{', 'm.json')).toThrow(BundleError);
    await expect(readBundle(join(tmpdir(), 'no-such-campaign-model'))).rejects.toThrow(
      'not a campaign model directory',
    );
  });
});
