import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CsvTable, formatCsvLine, parseCsv } from '../shared/campaign/csv';
import { buildTouchFrame } from '../shared/campaign/dataset';
import { leadsFromTables } from '../shared/campaign/planInput';
import { CampaignPlanner } from '../shared/campaign/planner';
import { CampaignScorer } from '../shared/campaign/scorer';
import { generateCampaignData, plantedBestPlan, plantedProbability } from '../models/campaign/generator';
import { trainCampaignModel } from '../models/campaign/train';

/**
 * Campaign optimisation at the sizes: training on ~500k touches (budget 60 s) and planning
 * 100k leads × 63 combinations (budget 30 s), on synthetic data with planted preferences. Figures are
 * also given as ratios against floors measured in the same run:
 *
 *   read floor   parsing the touches CSV text once (what any training must at least do)
 *   fill floor   writing the 6.3M × inputs planning matrix once (what any planner must at least do)
 *   train        `campaign train`: CSV parse, join, encoding, trees with early stopping, holdout
 *                evaluation through ONNX, logistic baseline, refit on training + holdout, ONNX export
 *   plan         `campaign plan`: leads CSV to plans, every combination scored with onnxruntime-node
 */

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** CPU seconds (user + system, all threads) since `since`: robust to other load on the machine. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

const toCsv = (table: CsvTable) =>
  [formatCsvLine(table.header), ...table.rows.map((r) => formatCsvLine(r))].join('');

async function main(): Promise<void> {
  const leadCount = Number(process.argv[2] ?? 100_000);
  process.stderr.write(`campaign bench: generating ${leadCount} leads…\n`);
  const data = generateCampaignData({ leads: leadCount, touchesPerLead: 5, seed: 2024 });
  const touchesText = toCsv(data.touchTable);
  const leadsText = toCsv(data.leadTable);

  let start = process.hrtime.bigint();
  const floorTable = parseCsv(touchesText, 'touches.csv');
  const readFloorSeconds = seconds(start);
  const touchCount = floorTable.rows.length;

  process.stderr.write(`campaign bench: training on ${touchCount} touches…\n`);
  let cpu = process.cpuUsage();
  start = process.hrtime.bigint();
  const touches = parseCsv(touchesText, 'touches.csv');
  const leads = parseCsv(leadsText, 'leads.csv');
  const frame = buildTouchFrame({ touches, leads }, { mapping: {}, requireTarget: true });
  const trained = await trainCampaignModel(frame);
  const trainSeconds = seconds(start);
  const trainCpuSeconds = cpuSeconds(cpu);

  const scorer = await CampaignScorer.create(trained.bundle);
  const planner = new CampaignPlanner(scorer);
  const width = scorer.width;
  const planRows = leadCount * planner.combinations.length;
  start = process.hrtime.bigint();
  const fill = new Float32Array(planRows * width);
  for (let i = 0; i < fill.length; i++) fill[i] = i & 7;
  const fillFloorSeconds = seconds(start);

  process.stderr.write(
    `campaign bench: planning ${leadCount} leads × ${planner.combinations.length} combinations…\n`,
  );
  cpu = process.cpuUsage();
  start = process.hrtime.bigint();
  const planLeads = leadsFromTables(trained.bundle.manifest, parseCsv(leadsText, 'leads.csv'));
  const plans = await planner.plan(planLeads);
  const planSeconds = seconds(start);
  const planCpuSeconds = cpuSeconds(cpu);
  await scorer.close();

  let recovered = 0;
  let exact = 0;
  plans.forEach((plan, i) => {
    const lead = data.leads[i]!;
    const planted = plantedBestPlan(lead);
    const chosen = {
      channel: plan.best!.channel,
      dayOfWeek: plan.best!.dayOfWeek!,
      timeOfDay: plan.best!.timeOfDay!,
    };
    if (
      chosen.channel === planted.plan.channel &&
      chosen.dayOfWeek === planted.plan.dayOfWeek &&
      chosen.timeOfDay === planted.plan.timeOfDay
    )
      exact++;
    if (plantedProbability(lead, chosen) >= planted.probability - 0.02) recovered++;
  });

  const result = {
    leads: leadCount,
    touches: touchCount,
    inputs: width,
    trees: trained.bundle.manifest.learner.trees,
    readFloorSeconds,
    trainSeconds,
    trainCpuSeconds,
    fillFloorSeconds,
    planRows,
    planSeconds,
    planCpuSeconds,
    holdoutAuc: trained.model?.auc ?? null,
    baselineAuc: trained.baseline?.auc ?? null,
    plantedPlanExact: exact / leadCount,
    plantedPlanWithin002: recovered / leadCount,
    cores: (await import('node:os')).cpus().length,
    node: process.version,
    loadAverage: (await import('node:os')).loadavg()[0] ?? 0,
  };
  const table = [
    ['step', 'wall s', '× floor', 'CPU s', 'budget'],
    ['read floor (parse touches CSV)', readFloorSeconds.toFixed(2), '1×', '', ''],
    [
      `train (${touchCount} touches, ${result.trees} trees)`,
      trainSeconds.toFixed(1),
      `${(trainSeconds / readFloorSeconds).toFixed(0)}×`,
      trainCpuSeconds.toFixed(1),
      '60 s',
    ],
    ['fill floor (write plan matrix once)', fillFloorSeconds.toFixed(2), '1×', '', ''],
    [
      `plan (${leadCount} leads × ${planner.combinations.length})`,
      planSeconds.toFixed(1),
      `${(planSeconds / fillFloorSeconds).toFixed(0)}×`,
      planCpuSeconds.toFixed(1),
      '30 s',
    ],
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  process.stdout.write(
    table.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n') + '\n',
  );
  process.stdout.write(
    `holdout AUC: trees ${result.holdoutAuc?.toFixed(4)}, logistic baseline ${result.baselineAuc?.toFixed(4)}; ` +
      `planted best plan recovered: exact ${(result.plantedPlanExact * 100).toFixed(1)}%, within 0.02 ${(result.plantedPlanWithin002 * 100).toFixed(1)}%; ` +
      `load average ${result.loadAverage.toFixed(1)} on ${result.cores} cores\n`,
  );
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'campaign.json'), JSON.stringify(result, null, 2) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
