import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BundleError,
  CampaignModelBundle,
  CampaignModelManifest,
  parseManifest,
  readBundle,
  writeBundle,
} from '../../../shared/campaign/bundle';
import { CampaignScorer } from '../../../shared/campaign/scorer';
import { trainSmallCampaignModel } from './fixtures';

describe('campaign model bundle', () => {
  let bundle: CampaignModelBundle;

  beforeAll(async () => {
    ({ bundle } = await trainSmallCampaignModel(1500));
  });

  it('round-trips through a directory and refuses a malformed manifest, naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'campaign-bundle-'));
    try {
      await writeBundle(dir, bundle);
      const read = await readBundle(dir);
      expect(read.manifest).toEqual(JSON.parse(JSON.stringify(bundle.manifest)));
      expect(Buffer.from(read.onnx).equals(Buffer.from(bundle.onnx))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // A model trained with `--holdout 0` has no metrics: its manifest has no `metrics` field at all.
    const unmeasured = parseManifest(JSON.stringify({ ...bundle.manifest, metrics: undefined }), 'm.json');
    expect(unmeasured.metrics).toBeUndefined();
    const broken = { ...bundle.manifest, encoding: { ...bundle.manifest.encoding, dimensions: [] } };
    expect(() => parseManifest(JSON.stringify(broken), 'm.json')).toThrow(
      'm.json: field encoding.dimensions:',
    );
    expect(() => parseManifest('{', 'm.json')).toThrow(BundleError);
    await expect(readBundle(join(tmpdir(), 'no-such-campaign-model'))).rejects.toThrow(
      'not a campaign model directory',
    );
  });

  it('refuses a manifest whose inputs do not match its dimensions and features, and a model.onnx of another width', async () => {
    const { manifest } = bundle;
    const dimensions = manifest.encoding.dimensions.length;
    const edited = (edit: (m: CampaignModelManifest) => void) => {
      const copy = JSON.parse(JSON.stringify(manifest)) as CampaignModelManifest;
      edit(copy);
      return () => parseManifest(JSON.stringify(copy), 'm.json');
    };
    const firstFeature = manifest.encoding.features[0]!.name;
    expect(
      edited((m) => {
        m.encoding.inputs[dimensions]!.name = 'Nothing';
      }),
    ).toThrow(
      `m.json: encoding.inputs[${dimensions}] is feature 'Nothing' but encoding.features[0] is '${firstFeature}'`,
    );
    expect(
      edited((m) => {
        m.encoding.inputs[0]!.encoding = { kind: 'numeric' };
      }),
    ).toThrow('m.json: encoding.inputs[0] (channel) must be categorical');
    expect(
      edited((m) => {
        m.encoding.dimensions[0]!.values.push('Fax');
      }),
    ).toThrow("m.json: encoding.inputs[0] has no code for channel 'Fax'");
    expect(
      edited((m) => {
        m.encoding.dimensions[0]!.values.push(m.encoding.dimensions[0]!.values[0]!);
      }),
    ).toThrow(
      `m.json: encoding.dimensions[0].values lists '${manifest.encoding.dimensions[0]!.values[0]}' twice`,
    );
    expect(
      edited((m) => {
        [m.encoding.inputs[0], m.encoding.inputs[1]] = [m.encoding.inputs[1]!, m.encoding.inputs[0]!];
      }),
    ).toThrow("m.json: encoding.inputs[0] is dimension 'dayOfWeek' but encoding.dimensions[0] is 'channel'");
    const numeric = manifest.encoding.features.findIndex((f) => f.kind === 'numeric');
    expect(
      edited((m) => {
        m.encoding.features[numeric]!.kind = 'categorical';
      }),
    ).toThrow(`is encoded as numeric but the feature is categorical`);

    // Consistent on its own, but one feature short of what model.onnx was exported with.
    const short = JSON.parse(JSON.stringify(manifest)) as CampaignModelManifest;
    short.encoding.features.pop();
    short.encoding.inputs.pop();
    const width = short.encoding.inputs.length;
    await expect(
      CampaignScorer.create({ manifest: parseManifest(JSON.stringify(short), 'm.json'), onnx: bundle.onnx }),
    ).rejects.toThrow(
      new RegExp(
        `^model\\.onnx does not take the ${width} inputs of campaign-model\\.json: .*Expected: ${width + 1}`,
        's',
      ),
    );
  });
});
