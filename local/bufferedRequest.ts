/**
 * The fetch `Request` behind each `HttpRequest` the local host hands to a function.
 *
 * Why not undici's `Request`: building one costs about 100 µs on this machine and reading its body goes
 * through a web stream, more than the ingest function itself spends on an event. The host already holds
 * the whole body in a Buffer, so the reads functions make (url, method, headers, text, json, arrayBuffer)
 * are served from it; anything else (the body as a stream, blob, formData) builds the real `Request` once
 * and delegates to it, so behaviour stays that of the library.
 *
 * `HttpRequest` takes it through `nativeRequest`, the init field its own stream mode uses.
 */
export class BufferedRequest {
  private readonly bytes: Buffer | undefined;
  private cachedHeaders: Headers | undefined;
  private full: Request | undefined;
  private consumed = false;

  constructor(
    readonly url: string,
    readonly method: string,
    private readonly headerPairs: ReadonlyArray<[string, string]>,
    body: Buffer | undefined,
  ) {
    // Like fetch: GET and HEAD carry no body.
    this.bytes = method === 'GET' || method === 'HEAD' ? undefined : body;
  }

  get headers(): Headers {
    this.cachedHeaders ??= new PairHeaders(this.headerPairs);
    return this.cachedHeaders;
  }

  get bodyUsed(): boolean {
    return this.full ? this.full.bodyUsed : this.consumed;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.fullRequest().body;
  }

  async text(): Promise<string> {
    if (this.full) return this.full.text();
    return utf8.decode(this.take());
  }

  async json(): Promise<unknown> {
    if (this.full) return this.full.json();
    return JSON.parse(utf8.decode(this.take())) as unknown;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.full) return this.full.arrayBuffer();
    const bytes = this.take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  blob(): Promise<Blob> {
    return this.fullRequest().blob();
  }

  formData(): Promise<FormData> {
    return this.fullRequest().formData();
  }

  clone(): BufferedRequest | Request {
    if (this.full) return this.full.clone();
    if (this.consumed) throw new TypeError('Body is unusable: Body has already been read');
    return new BufferedRequest(this.url, this.method, this.headerPairs, this.bytes);
  }

  private take(): Uint8Array {
    if (this.consumed) throw new TypeError('Body is unusable: Body has already been read');
    this.consumed = true;
    return this.bytes ?? new Uint8Array(0);
  }

  private fullRequest(): Request {
    if (!this.full) {
      this.full = new Request(this.url, {
        method: this.method,
        headers: this.headers,
        ...(this.bytes !== undefined && this.bytes.length > 0 ? { body: this.bytes } : {}),
      });
      // A body already read here stays read there.
      if (this.consumed) void this.full.arrayBuffer();
    }
    return this.full;
  }
}

const utf8 = new TextDecoder();

/**
 * Request headers that answer `get` and `has` from Node's parsed pairs and build fetch's `Headers` only
 * for anything else (iteration, changes). Why: building `Headers` validates and sorts every pair, about
 * 10 µs per request here, while functions mostly ask for one or two headers (CORS asks for `origin`).
 * Node has already lower-cased the names, trimmed the values and joined repeated headers.
 */
export class PairHeaders implements Headers {
  private full: Headers | undefined;

  constructor(private readonly pairs: ReadonlyArray<[string, string]>) {}

  get(name: string): string | null {
    if (this.full) return this.full.get(name);
    const key = name.toLowerCase();
    for (const [pairName, value] of this.pairs) if (pairName === key) return value;
    return null;
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  append(name: string, value: string): void {
    this.headers().append(name, value);
  }

  set(name: string, value: string): void {
    this.headers().set(name, value);
  }

  delete(name: string): void {
    this.headers().delete(name);
  }

  getSetCookie(): string[] {
    return this.headers().getSetCookie();
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.headers().forEach((value, key) => callback.call(thisArg, value, key, this));
  }

  entries(): ReturnType<Headers['entries']> {
    return this.headers().entries();
  }

  keys(): ReturnType<Headers['keys']> {
    return this.headers().keys();
  }

  values(): ReturnType<Headers['values']> {
    return this.headers().values();
  }

  [Symbol.iterator](): ReturnType<Headers['entries']> {
    return this.headers()[Symbol.iterator]();
  }

  private headers(): Headers {
    this.full ??= new Headers(this.pairs as Array<[string, string]>);
    return this.full;
  }
}
