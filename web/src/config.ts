// Stage settings: /config.json next to the console. The local stack answers it (sign in with the
// local form); a deployed stage's stack writes it at deploy time (API URL, Cognito domain and
// client id).
export interface ConsoleConfig {
  /** 'local': the local stack's "sign in as" form; 'cognito': Cognito managed login. */
  signIn: 'local' | 'cognito';
  /** The API's base URL; '' means the console's own origin. */
  apiUrl: string;
  /** The identity provider group whose members are operators. */
  operatorGroup?: string;
  /** Cognito: the user pool domain, e.g. https://rollcall-dev.auth.eu-west-1.amazoncognito.com */
  cognitoDomain?: string;
  /** Cognito: the app client id (a public client: no secret, PKCE). */
  clientId?: string;
}

let config: ConsoleConfig = { signIn: 'local', apiUrl: '', operatorGroup: 'operators' };

export async function loadConfig(): Promise<ConsoleConfig> {
  const resp = await fetch('/config.json', { headers: { Accept: 'application/json' } });
  if (!resp.ok) throw new Error(`/config.json answered ${resp.status}`);
  config = { ...config, ...(await resp.json()) };
  return config;
}

export function getConfig(): ConsoleConfig {
  return config;
}
