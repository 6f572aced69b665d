import type { SpecValidator } from './spec-validator.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

/**
 * A plain HTTP client for tests. Every response it receives is checked against the cloud's
 * reference specification; a mismatch fails the test at the call that received it.
 */
export class HttpClient {
  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string>,
    private readonly validator?: SpecValidator,
  ) {}

  with(headers: Record<string, string>): HttpClient {
    return new HttpClient(this.baseUrl, headers, this.validator);
  }

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options: { headers?: Record<string, string>; raw?: string; skipSpec?: boolean } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...this.headers, ...options.headers };
    let payload: string | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(this.baseUrl + path, { method, headers, body: payload });
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (this.validator && !options.skipSpec) {
      const url = new URL(this.baseUrl + path);
      if (this.validator.operation(method, url.pathname)) {
        const problems = this.validator.check(method, url.pathname, response.status, parsed);
        if (problems.length > 0) {
          throw new Error(`response does not match the reference spec:\n${problems.join('\n')}\nbody: ${text.slice(0, 2000)}`);
        }
      }
    }
    return { status: response.status, body: parsed as T, headers: response.headers, text };
  }

  get<T = any>(path: string, options?: { headers?: Record<string, string> }) {
    return this.request<T>('GET', path, undefined, options);
  }
  post<T = any>(path: string, body?: unknown, options?: { headers?: Record<string, string>; raw?: string }) {
    return this.request<T>('POST', path, body, options);
  }
  patch<T = any>(path: string, body?: unknown, options?: { headers?: Record<string, string>; raw?: string }) {
    return this.request<T>('PATCH', path, body, options);
  }
  delete<T = any>(path: string, options?: { headers?: Record<string, string> }) {
    return this.request<T>('DELETE', path, undefined, options);
  }
}
