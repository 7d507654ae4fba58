import { HttpRequest, HttpRequestInit } from '@azure/functions';
import { BufferedRequest, PairHeaders } from '../../local/bufferedRequest';

const url = 'http://127.0.0.1:7071/api/events?a=1&a=2&b=x';
const headerPairs: Array<[string, string]> = [
  ['content-type', 'application/json; charset=utf-8'],
  ['origin', 'https://shop.example'],
];

/** The HttpRequest the local host builds, and the one the library builds on its own, from one request. */
function pair(method: string, body: string | undefined) {
  const bytes = body === undefined ? undefined : Buffer.from(body, 'utf8');
  const init = { method, url, headers: Object.fromEntries(headerPairs), params: { id: '7' } };
  const buffered = new HttpRequest({
    ...init,
    nativeRequest: new BufferedRequest(url, method, headerPairs, bytes),
  } as HttpRequestInit);
  const library = new HttpRequest({ ...init, ...(bytes ? { body: { bytes } } : {}) });
  return { buffered, library };
}

describe('BufferedRequest behind HttpRequest', () => {
  it('reads url, method, query, params and headers as the library does', () => {
    const { buffered, library } = pair('POST', '{}');
    expect(buffered.url).toBe(library.url);
    expect(buffered.method).toBe('POST');
    expect(buffered.query.getAll('a')).toEqual(['1', '2']);
    expect(buffered.params).toEqual({ id: '7' });
    expect([...buffered.headers.entries()]).toEqual([...library.headers.entries()]);
    expect(buffered.headers.get('Origin')).toBe('https://shop.example');
  });

  it('reads the body as text, JSON or bytes, once, as the library does', async () => {
    const body = '\uFEFF{"word":"grüße"}';
    const text = pair('POST', body);
    expect(await text.buffered.text()).toBe(await text.library.text());
    expect(text.buffered.bodyUsed).toBe(true);
    await expect(text.buffered.text()).rejects.toThrow(TypeError);

    const json = pair('POST', '{"n":1}');
    expect(await json.buffered.json()).toEqual(await json.library.json());
    await expect(pair('POST', '{nope').buffered.json()).rejects.toThrow(SyntaxError);

    const bytes = pair('POST', 'abc');
    expect(Buffer.from(await bytes.buffered.arrayBuffer())).toEqual(
      Buffer.from(await bytes.library.arrayBuffer()),
    );
  });

  it('falls back to the full fetch Request for streams, blobs and form data', async () => {
    const stream = pair('POST', 'streamed');
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream.buffered.body as unknown as AsyncIterable<Uint8Array>)
      chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('streamed');
    expect(stream.buffered.bodyUsed).toBe(true);

    const blobs = pair('POST', 'blob body');
    const blob = await blobs.buffered.blob();
    expect(await blob.text()).toBe('blob body');
    expect(blob.type).toBe((await blobs.library.blob()).type);

    const form = new BufferedRequest(
      url,
      'POST',
      [['content-type', 'application/x-www-form-urlencoded']],
      Buffer.from('a=1&b=two'),
    );
    expect((await form.formData()).get('b')).toBe('two');
  });

  it('clones before a read, not after, and a read body stays read on the fallback', async () => {
    const { buffered } = pair('POST', 'twice');
    const copy = buffered.clone();
    expect(await buffered.text()).toBe('twice');
    expect(await copy.text()).toBe('twice');
    expect(() => buffered.clone()).toThrow(TypeError);
    await expect(buffered.blob()).rejects.toThrow('Body is unusable');
  });

  it('carries no body on GET, as fetch requires', async () => {
    const request = new BufferedRequest(url, 'GET', headerPairs, Buffer.from('ignored'));
    expect(await request.text()).toBe('');
    expect(new BufferedRequest(url, 'GET', headerPairs, undefined).body).toBeNull();
  });
});

describe('PairHeaders', () => {
  const pairs: Array<[string, string]> = [
    ['origin', 'https://shop.example'],
    ['content-type', 'text/plain'],
    ['x-forwarded-for', '10.0.0.1, 10.0.0.2'],
  ];

  it('answers get and has as fetch Headers does, whatever the case of the name', () => {
    const fast = new PairHeaders(pairs);
    const real = new Headers(pairs);
    for (const name of ['Origin', 'content-type', 'X-Forwarded-For', 'missing']) {
      expect(fast.get(name)).toBe(real.get(name));
      expect(fast.has(name)).toBe(real.has(name));
    }
  });

  it('iterates and changes as fetch Headers does, and reads its own changes back', () => {
    const fast = new PairHeaders(pairs);
    const real = new Headers(pairs);
    expect([...fast]).toEqual([...real]);
    expect([...fast.keys()]).toEqual([...real.keys()]);
    fast.set('Origin', 'https://other.example');
    fast.append('x-forwarded-for', '10.0.0.3');
    fast.delete('content-type');
    real.set('Origin', 'https://other.example');
    real.append('x-forwarded-for', '10.0.0.3');
    real.delete('content-type');
    expect([...fast.entries()]).toEqual([...real.entries()]);
    expect(fast.get('origin')).toBe('https://other.example');
    expect(fast.has('content-type')).toBe(false);
    const seen: string[] = [];
    fast.forEach((value, key, parent) => {
      expect(parent).toBe(fast);
      seen.push(`${key}=${value}`);
    });
    expect(seen).toEqual([...real.entries()].map(([k, v]) => `${k}=${v}`));
  });
});
