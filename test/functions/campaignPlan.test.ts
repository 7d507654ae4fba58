import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { MAX_LEAD_BYTES, createCampaignPlanHandler, maxBodyBytes } from '../../shared/campaign/planHttp';
import { PlanConstraints } from '../../shared/campaign/planner';
import { CampaignScorer } from '../../shared/campaign/scorer';
import { trainSmallCampaignModel } from '../shared/campaign/fixtures';

interface ResponseBody {
  modelVersion?: string;
  combinations?: number;
  plans?: Array<Record<string, unknown>>;
  error?: { code: string; field?: string; message: string };
}

describe('POST /api/campaign/plan', () => {
  let scorer: CampaignScorer;
  let handler: ReturnType<typeof createCampaignPlanHandler>;

  const handlerWith = (constraints: PlanConstraints, maxLeads = 1000) =>
    createCampaignPlanHandler({ serving: () => Promise.resolve({ scorer, constraints }), maxLeads });

  beforeAll(async () => {
    // With a numeric touch feature (Discount), which requests send in `context`.
    const { bundle } = await trainSmallCampaignModel(2000, { discount: true });
    scorer = await CampaignScorer.create(bundle);
    handler = handlerWith({ exclude: [{ channel: 'Cold Calling', dayOfWeek: 'Sunday' }] });
  });
  afterAll(async () => {
    await scorer.close();
  });

  const call = async (
    body: unknown,
    headers: Record<string, string> = { 'content-type': 'application/json' },
    using = handler,
    logs: string[] = [],
  ) => {
    const request = new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/campaign/plan',
      headers,
      body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
    });
    const context = new InvocationContext({ logHandler: (_level, ...args) => logs.push(args.join(' ')) });
    // The handler answers with plain HttpResponseInit objects.
    const response = (await using(request, context)) as HttpResponseInit;
    return { status: response.status, jsonBody: response.jsonBody as ResponseBody };
  };

  const lead = (leadId: string) => ({
    leadId,
    attributes: { Age: 67, Annual_Income: 41000, Segment: 'retired', Region: 'South', Credit_Score: 700 },
  });

  it('returns the best plan, the runner-up and the uplift for each lead', async () => {
    const response = await call({
      leads: [
        { ...lead('L1'), last: { channel: 'SMS', dayOfWeek: 'Sunday', timeOfDay: 'Evening' } },
        lead('L2'),
      ],
    });
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ modelVersion: scorer.manifest.version, combinations: 60 });
    const [first, second] = response.jsonBody.plans!;
    expect(first).toMatchObject({
      leadId: 'L1',
      best: { channel: expect.any(String) as unknown, probability: expect.any(Number) as unknown },
    });
    expect((first!.uplift as number) > 0).toBe(true);
    expect(second).toMatchObject({ leadId: 'L2', last: null, uplift: null });
  });

  it('applies constraints sent with the request', async () => {
    const response = await call({
      leads: [lead('L1')],
      constraints: { allowed: { channel: ['Email'], timeOfDay: ['Morning'] } },
    });
    expect(response.status).toBe(200);
    expect(response.jsonBody.plans![0]).toMatchObject({ best: { channel: 'Email', timeOfDay: 'Morning' } });
  });

  it('answers 413 over 1,000 leads without parsing them', async () => {
    const leads = Array.from({ length: 1001 }, () => ({ not: 'a lead' }));
    const response = await call({ leads });
    expect(response.status).toBe(413);
    expect(response.jsonBody.error).toMatchObject({ code: 'payload_too_large', field: 'leads' });
  });

  it('answers 400 naming the field of a malformed request', async () => {
    const missingId = await call({ leads: [{ attributes: {} }] });
    expect(missingId.status).toBe(400);
    expect(missingId.jsonBody.error).toMatchObject({ code: 'invalid_request', field: 'leads[0].leadId' });

    const wrongType = await call({ leads: [lead('L1'), { leadId: 'L2', attributes: { Age: 'old' } }] });
    expect(wrongType.status).toBe(400);
    expect(wrongType.jsonBody.error).toMatchObject({
      field: 'leads[1].attributes.Age',
      message: "'old' is not a number",
    });

    const unknownChannel = await call({
      leads: [{ ...lead('L1'), last: { channel: 'Fax', dayOfWeek: 'Monday', timeOfDay: 'Morning' } }],
    });
    expect(unknownChannel.status).toBe(400);
    expect(unknownChannel.jsonBody.error!.field).toBe('leads[0].last.channel');

    const badConstraint = await call({
      leads: [lead('L1')],
      constraints: { allowed: { channel: ['Pigeon'] } },
    });
    expect(badConstraint.status).toBe(400);
    expect(badConstraint.jsonBody.error!.field).toBe('constraints.allowed.channel');

    const notJson = await call('{not json');
    expect(notJson.status).toBe(400);
    expect(notJson.jsonBody.error!.code).toBe('invalid_json');
    expect((await call({ leads: [] })).jsonBody.error!.field).toBe('leads');
    expect((await call({ leads: [lead('L1')] }, { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('names the request field holding a bad context value, constraint rule or partial last combination', async () => {
    const fieldOf = async (body: unknown) => {
      const response = await call(body);
      expect(response.status).toBe(400);
      return response.jsonBody.error!.field;
    };
    expect(await fieldOf({ leads: [{ ...lead('L1'), context: { Discount: 'lots' } }] })).toBe(
      'leads[0].context.Discount',
    );
    // A touch feature missing from `context` is read from `attributes`, and named there.
    const inAttributes = { ...lead('L1'), attributes: { ...lead('L1').attributes, Discount: 'lots' } };
    expect(await fieldOf({ leads: [lead('L0'), inAttributes] })).toBe('leads[1].attributes.Discount');
    expect(
      await fieldOf({
        leads: [lead('L1')],
        constraints: { exclude: [{ channel: 'Email' }, { channel: 'Fax', dayOfWeek: 'Monday' }] },
      }),
    ).toBe('constraints.exclude[1].channel');
    expect(
      await fieldOf({ leads: [lead('L1')], constraints: { capacity: [{ dayOfWeek: 'Funday', limit: 3 }] } }),
    ).toBe('constraints.capacity[0].dayOfWeek');
    expect(await fieldOf({ leads: [{ ...lead('L1'), last: { dayOfWeek: 'Funday' } }] })).toBe(
      'leads[0].last.dayOfWeek',
    );

    // A partial last combination with known values is no error: it has no score, so no uplift.
    const partial = await call({ leads: [{ ...lead('L1'), last: { dayOfWeek: 'Monday' } }] });
    expect(partial.status).toBe(200);
    expect(partial.jsonBody.plans![0]).toMatchObject({ last: null, uplift: null });
  });

  it('plans a value listed twice in allowed once', async () => {
    const response = await call({
      leads: [lead('L1')],
      constraints: { allowed: { channel: ['Email', 'Email'], timeOfDay: ['Morning', 'Morning'] } },
    });
    expect(response.status).toBe(200);
    expect(response.jsonBody.combinations).toBe(7);
    const plan = response.jsonBody.plans![0] as {
      best: { dayOfWeek: string };
      runnerUp: { dayOfWeek: string };
    };
    expect(plan.runnerUp.dayOfWeek).not.toBe(plan.best.dayOfWeek);
  });

  it("answers 503 and logs, not 400, when the server's default constraints do not fit the model", async () => {
    const logs: string[] = [];
    const misconfigured = handlerWith({ allowed: { channel: ['Pigeon'] } });
    const response = await call(
      { leads: [lead('L1')] },
      { 'content-type': 'application/json' },
      misconfigured,
      logs,
    );
    expect(response.status).toBe(503);
    expect(response.jsonBody.error).toEqual({
      code: 'service_unavailable',
      message: 'planning failed; try again later',
    });
    expect(logs.join('\n')).toContain(
      "the default constraints (CAMPAIGN_CONSTRAINTS_PATH) do not fit the model: constraints, column 'allowed.channel'",
    );
    // Constraints sent with the request replace the defaults, so such a request is still served.
    const own = await call(
      { leads: [lead('L1')], constraints: { allowed: { channel: ['SMS'] } } },
      { 'content-type': 'application/json' },
      misconfigured,
    );
    expect(own.status).toBe(200);
  });

  it('accepts any lead within the per-lead size limit, whatever the lead limit, and names an oversized one', async () => {
    const single = handlerWith({}, 1);
    // A lead of exactly `bytes` bytes as compact JSON, padded with attributes the model ignores (each
    // field within the schema's 1,000 characters).
    const bigLead = (bytes: number) => {
      const padded = lead('L1');
      const attributes: Record<string, unknown> = padded.attributes;
      for (let i = 0; ; i++) {
        const room = bytes - Buffer.byteLength(JSON.stringify(padded)) - `,"N${i}":""`.length;
        if (room < 0) throw new Error('cannot pad to that size');
        attributes[`N${i}`] = 'x'.repeat(Math.min(1000, room));
        if (room <= 1000) return padded;
      }
    };
    const fits = bigLead(MAX_LEAD_BYTES);
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(MAX_LEAD_BYTES);
    const constraints = {
      exclude: Array.from({ length: 1000 }, () => ({ channel: 'SMS', dayOfWeek: 'Monday' })),
    };
    // Pretty-printed, with constraints: larger than the old cap of 16 KiB per lead allowed for the body.
    const pretty = JSON.stringify({ leads: [fits], constraints }, null, 2);
    expect(pretty.length).toBeGreaterThan(16 * 1024);
    const response = await call(pretty, undefined, single);
    expect(response.status).toBe(200);

    const tooBig = await call({ leads: [lead('L0'), bigLead(MAX_LEAD_BYTES + 1)] });
    expect(tooBig.status).toBe(413);
    expect(tooBig.jsonBody.error).toMatchObject({ code: 'payload_too_large', field: 'leads[1]' });

    // The byte cap holds the compact form of the largest request the limits allow (leads, commas between
    // them, constraints and the envelope).
    expect(maxBodyBytes(1000)).toBeGreaterThan(1000 * (MAX_LEAD_BYTES + 1) + 256 * 1024 + 64);
  });
});

describe('POST /api/campaign/plan with a model trained with campaigns and products', () => {
  let scorer: CampaignScorer;

  beforeAll(async () => {
    const { bundle } = await trainSmallCampaignModel(1500, { joined: true });
    scorer = await CampaignScorer.create(bundle);
  });
  afterAll(async () => {
    await scorer.close();
  });

  it('takes the campaign and product features in context, by feature name, and names a bad one', async () => {
    const handler = createCampaignPlanHandler({
      serving: () => Promise.resolve({ scorer, constraints: {} }),
      maxLeads: 10,
    });
    const call = async (context: Record<string, string | number>) => {
      const request = new HttpRequest({
        method: 'POST',
        url: 'http://localhost/api/campaign/plan',
        headers: { 'content-type': 'application/json' },
        body: {
          string: JSON.stringify({
            leads: [
              {
                leadId: 'L1',
                attributes: {
                  Age: 30,
                  Annual_Income: 50000,
                  Segment: 'student',
                  Region: 'North',
                  Credit_Score: 700,
                },
                context,
              },
            ],
          }),
        },
      });
      const response = (await handler(request, new InvocationContext())) as HttpResponseInit;
      return { status: response.status, body: response.jsonBody as ResponseBody };
    };
    const features = {
      'campaign.Category': 'Acquisition',
      'campaign.Tenure': 3,
      'product.Premium': 1200,
      'product.Payment_Frequency': 'Monthly',
    };
    const planned = await call(features);
    expect(planned.status).toBe(200);
    expect(planned.body.plans![0]).toMatchObject({
      leadId: 'L1',
      best: { probability: expect.any(Number) as unknown },
    });
    const bad = await call({ ...features, 'campaign.Tenure': 'three' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: 'invalid_request',
      field: 'leads[0].context.campaign.Tenure',
    });
  });
});
