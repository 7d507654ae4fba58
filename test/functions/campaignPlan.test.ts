import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { createCampaignPlanHandler } from '../../shared/campaign/planHttp';
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

  beforeAll(async () => {
    const { bundle } = await trainSmallCampaignModel(2000);
    scorer = await CampaignScorer.create(bundle);
    handler = createCampaignPlanHandler({
      serving: () =>
        Promise.resolve({
          scorer,
          constraints: { exclude: [{ channel: 'Cold Calling', dayOfWeek: 'Sunday' }] },
        }),
      maxLeads: 1000,
    });
  });
  afterAll(async () => {
    await scorer.close();
  });

  const call = async (
    body: unknown,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => {
    const request = new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/campaign/plan',
      headers,
      body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
    });
    // The handler answers with plain HttpResponseInit objects.
    const response = (await handler(request, new InvocationContext())) as HttpResponseInit;
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

    expect((await call('{not json')).status).toBe(400);
    expect((await call({ leads: [] })).jsonBody.error!.field).toBe('leads');
    expect((await call({ leads: [lead('L1')] }, { 'content-type': 'text/plain' })).status).toBe(415);
  });
});
