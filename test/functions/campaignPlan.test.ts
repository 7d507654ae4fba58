import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { MAX_LEAD_BYTES, createCampaignPlanHandler, maxBodyBytes } from '../../shared/campaign/planHttp';
import { PlanConstraints } from '../../shared/campaign/planner';
import { CampaignScorer } from '../../shared/campaign/scorer';
import { trainSmallCampaignModel, exampleLeadAttributes } from '../shared/campaign/fixtures';

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
    return {
      status: response.status,
      headers: response.headers as Record<string, string>,
      jsonBody: response.jsonBody as ResponseBody,
    };
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
    expect(missingId.jsonBody.error).toMatchObject({
      code: 'invalid_request',
      field: 'leads[0].leadId',
      message: 'is required',
    });
    const numericId = await call({ leads: [{ leadId: 7, attributes: lead('L1').attributes }] });
    expect(numericId.status).toBe(400);
    expect(numericId.jsonBody.error).toMatchObject({ field: 'leads[0].leadId', message: 'must be a string' });

    const wrongType = await call({
      leads: [lead('L1'), { leadId: 'L2', attributes: { ...lead('L2').attributes, Age: 'old' } }],
    });
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

  it('refuses a key the model does not read, naming the field and the features', async () => {
    const misspelt = await call({
      leads: [lead('L0'), { leadId: 'L1', attributes: { ...lead('L1').attributes, Agee: 41 } }],
    });
    expect(misspelt.status).toBe(400);
    expect(misspelt.jsonBody.error).toEqual({
      code: 'invalid_request',
      field: 'leads[1].attributes.Agee',
      message:
        "not a feature of the model (did you mean 'Age'?); its lead attributes are Age, Annual_Income, " +
        'Segment, Region, Credit_Score; its touch, campaign and product features Discount',
    });
    const inContext = await call({ leads: [{ ...lead('L1'), context: { Discont: 5 } }] });
    expect(inContext.jsonBody.error).toMatchObject({
      field: 'leads[0].context.Discont',
      message:
        "not a touch, campaign or product feature of the model (did you mean 'Discount'?); those are Discount",
    });
    const attributeInContext = await call({ leads: [{ ...lead('L1'), context: { Age: 41 } }] });
    expect(attributeInContext.jsonBody.error).toMatchObject({
      field: 'leads[0].context.Age',
      message: 'is a lead attribute of the model; send it in attributes',
    });
  });

  it('refuses a lead without an attribute of the model, as a leads file without the column; null is a missing value', async () => {
    const none = await call({ leads: [lead('L0'), { leadId: 'L1', attributes: {} }] });
    expect(none.status).toBe(400);
    expect(none.jsonBody.error).toEqual({
      code: 'invalid_request',
      field: 'leads[1].attributes.Age',
      message:
        "missing attributes (the model was trained with them): 'Age', 'Annual_Income', 'Segment', " +
        "'Region', 'Credit_Score'; send null for an unknown value",
    });
    const { Region: _region, ...withoutRegion } = lead('L1').attributes;
    const one = await call({ leads: [{ leadId: 'L1', attributes: withoutRegion }] });
    expect(one.jsonBody.error).toMatchObject({
      field: 'leads[0].attributes.Region',
      message: 'missing (the model was trained with it); send null for an unknown value',
    });

    // Null, "" and the CSV's missing tokens are missing values, as empty cells are; a touch-level feature
    // (Discount) left out is one too, as for a lead with no touch in the history.
    const unknown = (value: unknown) => ({
      leadId: `L-${String(value)}`,
      attributes: { ...lead('L1').attributes, Region: value, Credit_Score: value },
    });
    const missing = await call({ leads: [unknown(null), unknown(''), unknown('NA')] });
    expect(missing.status).toBe(200);
    const [asNull, asEmpty, asNa] = missing.jsonBody.plans! as Array<{ best: unknown }>;
    expect(asEmpty!.best).toEqual(asNull!.best);
    expect(asNa!.best).toEqual(asNull!.best);
  });

  it('refuses a lead id sent twice, naming the second', async () => {
    const response = await call({ leads: [lead('L1'), lead('L2'), lead('L1')] });
    expect(response.status).toBe(400);
    expect(response.jsonBody.error).toEqual({
      code: 'invalid_request',
      field: 'leads[2].leadId',
      message: "lead 'L1' appears twice (also leads[0])",
    });
  });

  it("checks each request's keys against the model without going through its features again", async () => {
    // A model of its own, whose feature list counts how often it is searched.
    const { bundle } = await trainSmallCampaignModel(600);
    const own = await CampaignScorer.create(bundle);
    try {
      const features = own.manifest.encoding.features;
      let searches = 0;
      for (const method of ['filter', 'flatMap', 'map', 'some'] as const) {
        const original = features[method] as (...args: unknown[]) => unknown;
        Object.defineProperty(features, method, {
          value: (...args: unknown[]) => {
            searches += 1;
            return original.apply(features, args);
          },
        });
      }
      const using = createCampaignPlanHandler({
        serving: () => Promise.resolve({ scorer: own, constraints: {} }),
        maxLeads: 10,
      });
      expect((await call({ leads: [lead('L1')] }, undefined, using)).status).toBe(200);
      const afterFirst = searches;
      for (let i = 0; i < 3; i++) {
        expect((await call({ leads: [lead('L1'), lead('L2')] }, undefined, using)).status).toBe(200);
      }
      expect(searches).toBe(afterFirst);
    } finally {
      await own.close();
    }
  });

  it('answers 503 with Retry-After while there is no model to plan with', async () => {
    const logs: string[] = [];
    const noModel = createCampaignPlanHandler({
      serving: () => Promise.reject(new Error('campaign-model/campaign-model.json: ENOENT')),
      maxLeads: 10,
    });
    const response = await call({ leads: [lead('L1')] }, undefined, noModel, logs);
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('30');
    expect(response.jsonBody.error).toEqual({
      code: 'service_unavailable',
      message: 'no campaign model is loaded; try again later',
    });
    expect(logs.join('\n')).toContain(
      'the model cannot be loaded: campaign-model/campaign-model.json: ENOENT',
    );
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
    expect(response.headers['retry-after']).toBe('30');
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
    // A lead of exactly `bytes` bytes as compact JSON, padded with attributes the model does not have
    // (each field within the schema's 1,000 characters): past the size checks, they are refused as such.
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
    expect(response.status).toBe(400);
    expect(response.jsonBody.error).toMatchObject({
      code: 'invalid_request',
      field: 'leads[0].attributes.N0',
    });

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
    const call = async (context: Record<string, string | number | null>) => {
      const request = new HttpRequest({
        method: 'POST',
        url: 'http://localhost/api/campaign/plan',
        headers: { 'content-type': 'application/json' },
        body: {
          string: JSON.stringify({
            leads: [
              {
                leadId: 'L1',
                attributes: exampleLeadAttributes,
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
    // The CSV path joins every lead's campaign and product (and refuses a lead it cannot join): a request
    // leaving them out would be planned on values it never sent.
    const { 'campaign.Tenure': _tenure, 'product.Premium': _premium, ...partial } = features;
    const missing = await call(partial);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({
      field: 'leads[0].context.campaign.Tenure',
      message: expect.stringContaining(
        "missing campaign or product features 'campaign.Tenure', 'product.Premium'",
      ) as unknown,
    });
    expect((await call({ ...features, 'campaign.Tenure': null })).status).toBe(200);
  });
});
