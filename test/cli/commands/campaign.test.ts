import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command } from '../../../cli/commands/campaign';
import { UsageError } from '../../../cli/command';
import { parseCsv } from '../../../shared/campaign/csv';
import { campaignsCsv, productsCsv } from '../../shared/campaign/fixtures';
import { CosmosClient } from '@azure/cosmos';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createHttpServer } = require('@vercel/cosmosdb-server') as { createHttpServer: () => Server };

/** Runs the command, returning its exit code and what it printed on stdout and stderr. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await command.run(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** A bank-marketing-like table: one row per contact, ';'-separated, quoted strings, outcome y = yes/no. */
function bankLikeCsv(rows: number, seed: number): string {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const jobs = ['admin.', 'blue-collar', 'technician', 'student', 'retired', 'unknown'];
  const days = ['mon', 'tue', 'wed', 'thu', 'fri'];
  const lines = ['"age";"job";"contact";"month";"day_of_week";"duration";"pdays";"poutcome";"euribor3m";"y"'];
  for (let i = 0; i < rows; i++) {
    const job = jobs[Math.floor(next() * jobs.length)]!;
    const contact = next() < 0.6 ? 'cellular' : 'telephone';
    const day = days[Math.floor(next() * days.length)]!;
    const duration = Math.round(30 + next() * 600);
    const success = next() < 0.05;
    const euribor = next() < 0.5 ? 4.9 : 1.3;
    const logit =
      -3 +
      duration / 200 +
      (success ? 2 : 0) +
      (euribor < 2 ? 1 : 0) +
      (contact === 'cellular' ? 0.5 : 0) +
      (job === 'student' ? 0.7 : 0);
    const y = next() < 1 / (1 + Math.exp(-logit)) ? 'yes' : 'no';
    lines.push(
      `${18 + Math.floor(next() * 60)};"${job}";"${contact}";"may";"${day}";${duration};${success ? 3 : 999};"${success ? 'success' : 'nonexistent'}";${euribor};"${y}"`,
    );
  }
  return lines.join('\n') + '\n';
}

describe('npx nextoffer campaign', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'campaign-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generates, trains, scores and plans from files, printing results on stdout only', async () => {
    const generated = await run(['generate', '--out', dir, '--leads', '3000', '--seed', '4']);
    expect(generated.code).toBe(0);
    expect(JSON.parse(generated.stdout)).toMatchObject({ leads: 3000 });

    const model = join(dir, 'model');
    const trained = await run([
      'train',
      '--touches',
      join(dir, 'touches.csv'),
      '--leads',
      join(dir, 'leads.csv'),
      '--out',
      model,
      '--max-iterations',
      '60',
      '--learning-rate',
      '0.1',
    ]);
    expect(trained.code).toBe(0);
    const summary = JSON.parse(trained.stdout) as {
      holdout: Record<string, unknown> & { trees: { auc: number }; logisticBaseline: { auc: number } };
    };
    expect(summary.holdout.trees.auc).toBeGreaterThan(0.6);
    expect(summary.holdout.logisticBaseline.auc).toBeGreaterThan(0.5);
    // Lift per decile with cumulative lift, and calibration, for the model and its baseline (docs/campaign.md).
    for (const key of [
      'liftByDecile',
      'cumulativeLiftByDecile',
      'baselineLiftByDecile',
      'baselineCumulativeLiftByDecile',
      'calibration',
      'baselineCalibration',
    ]) {
      expect(summary.holdout[key]).toHaveLength(10);
    }
    const cumulative = summary.holdout.cumulativeLiftByDecile as number[];
    // The whole holdout's cumulative lift is 1 by definition.
    expect(cumulative[9]).toBeCloseTo(1, 2);
    expect(trained.stderr).toContain('holdout AUC');
    expect((await readdir(model)).sort()).toEqual(['campaign-model.json', 'model.onnx']);

    const scoredPath = join(dir, 'scored.csv');
    const scored = await run([
      'score',
      '--model',
      model,
      '--touches',
      join(dir, 'touches.csv'),
      '--leads',
      join(dir, 'leads.csv'),
      '--out',
      scoredPath,
    ]);
    expect(scored.code).toBe(0);
    const touches = parseCsv(await readFile(join(dir, 'touches.csv'), 'utf8'), 'touches');
    const output = parseCsv(await readFile(scoredPath, 'utf8'), 'scored');
    expect(output.header).toEqual([...touches.header, 'probability']);
    expect(output.rows.map((r) => r.slice(0, -1))).toEqual(touches.rows);
    for (const row of output.rows) expect(Number(row.at(-1))).toBeGreaterThan(0);

    const plansPath = join(dir, 'plans.csv');
    const planned = await run([
      'plan',
      '--model',
      model,
      '--leads',
      join(dir, 'leads.csv'),
      '--touches',
      join(dir, 'touches.csv'),
      '--out',
      plansPath,
    ]);
    expect(planned.code).toBe(0);
    const plans = parseCsv(await readFile(plansPath, 'utf8'), 'plans');
    expect(plans.rows).toHaveLength(3000);
    expect(plans.header.slice(0, 5)).toEqual(['leadId', 'channel', 'dayOfWeek', 'timeOfDay', 'probability']);

    const constraints = join(dir, 'constraints.json');
    await writeFile(constraints, JSON.stringify({ allowed: { channel: ['SMS'] } }));
    const jsonl = await run([
      'plan',
      '--model',
      model,
      '--leads',
      join(dir, 'leads.csv'),
      '--constraints',
      constraints,
    ]);
    const lines = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { best: { channel: string } });
    expect(lines).toHaveLength(3000);
    expect(new Set(lines.map((l) => l.best.channel))).toEqual(new Set(['SMS']));
  });

  it('trains on a bank-marketing-style file directly and scores it', async () => {
    const train = join(dir, 'bank-train.csv');
    const test = join(dir, 'bank-test.csv');
    await writeFile(train, bankLikeCsv(6000, 1));
    await writeFile(test, bankLikeCsv(1500, 2));
    const model = join(dir, 'bank-model');
    const trained = await run([
      'train',
      '--touches',
      train,
      '--out',
      model,
      '--target',
      'y',
      '--channel',
      'contact',
      '--day',
      'day_of_week',
    ]);
    expect(trained.code).toBe(0);
    const manifest = JSON.parse(await readFile(join(model, 'campaign-model.json'), 'utf8')) as {
      encoding: { dimensions: Array<{ dimension: string; values: string[] }> };
    };
    expect(manifest.encoding.dimensions.map((d) => d.dimension)).toEqual(['channel', 'dayOfWeek']);
    const scored = await run(['score', '--model', model, '--touches', test]);
    expect(scored.code).toBe(0);
    const output = parseCsv(scored.stdout, 'stdout');
    expect(output.rows).toHaveLength(1500);
    expect(output.header.at(-1)).toBe('probability');
  });

  it('reports bad input with file, line and column and writes nothing', async () => {
    const model = join(dir, 'model');
    const bad = join(dir, 'bad-touches.csv');
    await writeFile(
      bad,
      'Lead_Id,Channel,Day_Of_Week,Time_Of_Day\nL0001,Email,Monday,Morning\nL0002,Fax,Monday,Morning\n',
    );
    const out = join(dir, 'never.csv');
    const result = await run([
      'score',
      '--model',
      model,
      '--touches',
      bad,
      '--leads',
      join(dir, 'leads.csv'),
      '--out',
      out,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${bad}, line 3, column 'channel': channel 'Fax' was never seen in training`,
    );
    expect(result.stdout).toBe('');
    await expect(readFile(out)).rejects.toThrow();

    const missing = join(dir, 'no-outcome.csv');
    await writeFile(missing, 'Lead_Id,Channel\nL1,Email\n');
    const noTarget = await run(['train', '--touches', missing, '--out', join(dir, 'never-model')]);
    expect(noTarget.code).toBe(1);
    expect(noTarget.stderr).toContain("line 1, column 'converted': missing required column");
    await expect(readdir(join(dir, 'never-model'))).rejects.toThrow();

    await expect(command.run(['train', '--touches', missing])).rejects.toThrow(UsageError);
    await expect(command.run(['fly'])).rejects.toThrow("unknown action 'fly'");

    const headerOnly = join(dir, 'header-only.csv');
    await writeFile(headerOnly, 'Lead_Id,Channel,Day_Of_Week,Time_Of_Day,Converted\n');
    const empty = await run(['train', '--touches', headerOnly, '--out', join(dir, 'never-model')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain(`${headerOnly}: has no data rows, only a header`);
    expect(empty.stderr).not.toContain('    at ');
  });

  /** Leads and touches with renamed columns, ';'-separated, whose headers look comma-separated. */
  async function renamedFiles(): Promise<{ leads: string; touches: string; mapping: string[] }> {
    const leads = join(dir, 'renamed-leads.csv');
    const touches = join(dir, 'renamed-touches.csv');
    await writeFile(
      leads,
      'Kunde;Age;Annual_Income;Segment;Region;Credit_Score;a,b,c,d,e,f,g\n' +
        'K1;37;54072;professional;West;537;x\nK2;55;72199;student;North;693;y\n',
    );
    await writeFile(
      touches,
      'Kunde;Kanal;Day_Of_Week;Time_Of_Day;Wann;a,b,c,d,e,f,g\n' +
        // Text order would take 9/30 as K1's latest touch; the dates say 10/1.
        'K1;Email;Monday;Morning;10/1/2025;x\nK1;SMS;Friday;Evening;9/30/2025;x\n' +
        'K2;Cold Calling;Monday;Morning;NA;x\nK2;SMS;Friday;Evening;1/5/2025;x\n',
    );
    return {
      leads,
      touches,
      mapping: ['--delimiter', ';', '--lead-id', 'Kunde', '--channel', 'Kanal', '--timestamp', 'Wann'],
    };
  }

  it('plans with the column mapping and delimiter options, as train and score read them', async () => {
    const model = join(dir, 'model');
    const { leads, touches, mapping } = await renamedFiles();
    const planned = await run(['plan', '--model', model, '--leads', leads, '--touches', touches, ...mapping]);
    expect(planned.stderr).not.toContain('Unknown option');
    expect(planned.code).toBe(0);
    const plans = planned.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { leadId: string; last: { channel: string } | null });
    expect(plans.map((p) => [p.leadId, p.last?.channel])).toEqual([
      ['K1', 'Email'],
      ['K2', 'SMS'],
    ]);
    // The header looks comma-separated: without --delimiter the files do not read as intended.
    const guessed = await run([
      'plan',
      '--model',
      model,
      '--leads',
      leads,
      '--touches',
      touches,
      ...mapping.slice(2),
    ]);
    expect(guessed.code).toBe(1);
    expect(guessed.stderr).toContain(`${leads}, line 2: has 1 fields; the header has 7`);

    const renamedSegment = join(dir, 'no-segment.csv');
    await writeFile(
      renamedSegment,
      'Lead_Id,Age,Annual_Income,Sector,Region,Credit_Score\nL1,37,1,x,West,537\n',
    );
    const missing = await run(['plan', '--model', model, '--leads', renamedSegment]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `${renamedSegment}, line 1, column 'Segment': missing required column (the model was trained with it)`,
    );
    await expect(
      command.run(['plan', '--model', model, '--leads', leads, '--timestamp', 'Wann']),
    ).rejects.toThrow('--timestamp names the column that orders the touch history; give --touches too');
  });

  it('plans with the campaigns and products the model was trained with, and refuses without them', async () => {
    const leads = join(dir, 'leads.csv');
    const touches = join(dir, 'touches.csv');
    const campaigns = join(dir, 'campaigns.csv');
    const products = join(dir, 'products.csv');
    await writeFile(campaigns, campaignsCsv);
    await writeFile(products, productsCsv);
    const model = join(dir, 'joined-model');
    const trained = await run([
      'train',
      '--touches',
      touches,
      '--leads',
      leads,
      '--campaigns',
      campaigns,
      '--products',
      products,
      '--out',
      model,
      '--max-iterations',
      '30',
      '--learning-rate',
      '0.2',
      '--holdout',
      '0',
    ]);
    expect(trained.code).toBe(0);
    expect(trained.stderr).toContain('campaign.Category (categorical)');
    expect(trained.stderr).toContain('product.Premium (numeric)');

    const files = ['--model', model, '--leads', leads, '--touches', touches];
    const tables = ['--campaigns', campaigns, '--products', products];
    const planned = await run(['plan', ...files, ...tables, '--format', 'csv']);
    expect(planned.stderr).not.toContain('Unknown option');
    expect(planned.code).toBe(0);
    const plans = parseCsv(planned.stdout, 'plans');
    expect(plans.rows).toHaveLength(3000);
    expect(plans.rows.filter((row) => row[1] === '')).toEqual([]);

    // Without a table the model needs: refused before any lead is read, naming the option.
    await expect(command.run(['plan', ...files, '--products', products])).rejects.toThrow(
      `--campaigns is required: the model was trained with campaign features (campaign.Category, campaign.Tenure) (model ${model})`,
    );
    await expect(command.run(['batch', ...files, '--campaigns', campaigns])).rejects.toThrow(
      '--products is required: the model was trained with product features (product.Premium, product.Payment_Frequency)',
    );
    await expect(command.run(['plan', ...files, '--campaign-id', 'Campaign_Id'])).rejects.toThrow(
      '--campaign-id names the column that joins the campaigns file; give --campaigns too',
    );

    // A lead whose campaign the campaigns file lacks stops the run at the touch that names it; nothing written.
    const withoutC4 = join(dir, 'campaigns-without-c4.csv');
    await writeFile(withoutC4, campaignsCsv.replace(/^C4,.*\n/m, ''));
    const never = join(dir, 'never-plans.csv');
    const unknown = await run([
      'plan',
      ...files,
      '--campaigns',
      withoutC4,
      '--products',
      products,
      '--out',
      never,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /, line \d+, column 'Campaign_Id': campaign 'C4' appears in no campaign file/,
    );
    expect(unknown.stderr).toContain(`nextoffer campaign plan: ${touches}, line `);
    expect(unknown.stderr).toContain(`(${withoutC4})`);
    await expect(readFile(never)).rejects.toThrow();

    // The leads file may name the campaign being planned, under a mapped column the campaigns file shares.
    const leadsText = await readFile(leads, 'utf8');
    const [header, ...rows] = leadsText.trimEnd().split('\n');
    const assigned = join(dir, 'leads-assigned.csv');
    await writeFile(assigned, [`${header},Kampagne`, ...rows.map((row) => `${row},C2`)].join('\n') + '\n');
    const renamed = join(dir, 'campaigns-renamed.csv');
    await writeFile(renamed, campaignsCsv.replace('Campaign_Id', 'Kampagne'));
    const mapped = await run([
      'plan',
      '--model',
      model,
      '--leads',
      assigned,
      '--campaigns',
      renamed,
      '--products',
      products,
      '--campaign-id',
      'Kampagne',
    ]);
    expect(mapped.code).toBe(0);
    expect(mapped.stdout.trim().split('\n')).toHaveLength(3000);
  });

  it('says --campaigns is unused only when no lead takes its product from it', async () => {
    // Trained with --products and a campaigns file that only maps campaigns to products: product features,
    // no campaign features, and the products found through each touch's campaign.
    const leads = join(dir, 'leads.csv');
    const touches = join(dir, 'touches.csv');
    const campaigns = join(dir, 'campaign-products.csv');
    const products = join(dir, 'products.csv');
    await writeFile(campaigns, 'Campaign_Id,Product_Id\nC1,P1\nC2,P2\nC3,P1\nC4,P3\n');
    await writeFile(products, productsCsv);
    const model = join(dir, 'product-model');
    const tables = ['--campaigns', campaigns, '--products', products];
    const trained = await run([
      'train',
      '--touches',
      touches,
      '--leads',
      leads,
      ...tables,
      '--out',
      model,
      '--max-iterations',
      '10',
      '--holdout',
      '0',
    ]);
    expect(trained.code).toBe(0);
    expect(trained.stderr).toContain('product.Premium (numeric)');
    expect(trained.stderr).not.toContain('campaign.');

    const files = ['--model', model, '--leads', leads, '--touches', touches];
    const planned = await run(['plan', ...files, ...tables]);
    expect(planned.code).toBe(0);
    expect(planned.stderr).not.toContain('not used');
    await expect(command.run(['plan', ...files, '--products', products])).rejects.toThrow(
      '--campaigns is required: the model was trained with product features and neither',
    );
    // Touches that name their product: the campaigns file is not needed, and said to be unused.
    const named = join(dir, 'touches-with-products.csv');
    const touchText = await readFile(touches, 'utf8');
    const [header, ...rows] = touchText.trimEnd().split('\n');
    await writeFile(named, [`${header},Product_Id`, ...rows.map((row) => `${row},P2`)].join('\n') + '\n');
    const withNamed = await run(['plan', '--model', model, '--leads', leads, '--touches', named, ...tables]);
    expect(withNamed.code).toBe(0);
    expect(withNamed.stderr).toContain(
      'campaign: --campaigns is not used: the model has no campaign features, and every lead has its product from its row or its latest touch',
    );
  });

  it('runs batch with the same options into a local Cosmos DB server', async () => {
    const server = createHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const key = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';
    const client = new CosmosClient({
      endpoint: `http://127.0.0.1:${port}`,
      key,
      connectionPolicy: { enableEndpointDiscovery: false },
    });
    const saved = { ...process.env };
    try {
      const { database } = await client.databases.createIfNotExists({ id: 'campaign-cli' });
      await database.containers.createIfNotExists({ id: 'plans', partitionKey: { paths: ['/leadId'] } });
      process.env.CosmosDBConnection = `AccountEndpoint=http://127.0.0.1:${port}/;AccountKey=${key};`;
      process.env.COSMOS_DATABASE = 'campaign-cli';
      process.env.CAMPAIGN_PLANS_CONTAINER = 'plans';
      const { leads, touches, mapping } = await renamedFiles();
      const batch = await run([
        'batch',
        '--model',
        join(dir, 'model'),
        '--leads',
        leads,
        '--touches',
        touches,
        '--run-id',
        'mapped',
        ...mapping,
      ]);
      expect(batch.stderr).not.toContain('Unknown option');
      expect(batch.code).toBe(0);
      // Under jest, @azure/functions (loaded with the Cosmos client) warns on stdout first; the result is last.
      expect(JSON.parse(batch.stdout.trim().split('\n').at(-1)!)).toMatchObject({
        runId: 'mapped',
        leads: 2,
        planned: 2,
      });
      const { resources } = await database
        .container('plans')
        .items.query<{ leadId: string; lastChannel: string }>("SELECT * FROM c WHERE c.kind = 'plan'")
        .fetchAll();
      expect(resources.map((d) => [d.leadId, d.lastChannel]).sort()).toEqual([
        ['K1', 'Email'],
        ['K2', 'SMS'],
      ]);
      const { resources: runs } = await database
        .container('plans')
        .items.query("SELECT c.runId, c.status, c.leads FROM c WHERE c.kind = 'run'")
        .fetchAll();
      expect(runs).toEqual([{ runId: 'mapped', status: 'complete', leads: 2 }]);
    } finally {
      process.env = saved;
      client.dispose();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
