// The console's only way to the API: openapi-fetch over the types openapi-typescript generates
// from docs/openapi.json (make web), so a request or answer that drifts from the API fails the
// type check.
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema';
import { currentToken, signOut } from '../auth';

export type Schemas = components['schemas'];
export type Problem = Schemas['Problem'];

let client: Client<paths> | undefined;

/** initApi makes the client for the API at baseUrl ('' means this origin). */
export function initApi(baseUrl: string): void {
  client = createClient<paths>({ baseUrl });
  client.use({
    onRequest({ request }) {
      const token = currentToken();
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
    onResponse({ response }) {
      // An expired or refused token: sign out, so that the page asks to sign in again.
      if (response.status === 401) signOut(true);
      return response;
    },
  });
}

/** api is the API client; initApi must have run. */
export function api(): Client<paths> {
  if (!client) throw new Error('initApi was not called');
  return client;
}

/** networkProblem stands for an answer that never came (the API is down or unreachable). */
export function networkProblem(err: unknown): Problem {
  return {
    type: 'about:blank',
    title: 'Network error',
    status: 0,
    code: 'internal',
    detail: `The API could not be reached (${err instanceof Error ? err.message : String(err)}). Check your connection and try again.`,
  };
}

/** etag is the If-Match value for an item of this version. */
export function etag(version: number): string {
  return `"${version}"`;
}

/** newIdempotencyKey makes a key for one POST, so that a retried click is not done twice. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
