import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { components } from 'e2b';
import { readBody } from './connect-rpc.ts';
import { PolicyError, policyFrom } from './egress-policy.ts';
import { ENVD_VERSION, type SandboxRegistry, type StandInSandbox, type Template } from './sandboxes.ts';

// E2B's control API (api.e2b.app) as its OpenAPI document describes it, for
// the routes the SDK uses: sandboxes (create, list, get, kill, timeout, pause,
// resume, connect, snapshots) and templates (list, get, delete). Response
// bodies are typed with the SDK's own generated `components` (the OpenAPI
// schemas), and `e2b-api.conformance.test.ts` checks routes and required
// fields against that document at run time.

type Schemas = components['schemas'];

/** Switches for fault tests: what the next create does. */
export interface ControlFaults {
  create: null | 'error500' | 'quota' | 'slow' | 'foreign_domain';
  slowMs: number;
}

/** The routes served, as `METHOD /path/{param}` in the OpenAPI document's spelling. */
export const ROUTES = [
  'POST /sandboxes',
  'POST /v2/sandboxes',
  'GET /sandboxes',
  'GET /v2/sandboxes',
  'GET /sandboxes/{sandboxID}',
  'DELETE /sandboxes/{sandboxID}',
  'POST /sandboxes/{sandboxID}/timeout',
  'POST /sandboxes/{sandboxID}/pause',
  'POST /sandboxes/{sandboxID}/resume',
  'POST /sandboxes/{sandboxID}/connect',
  'POST /v2/sandboxes/{sandboxID}/connect',
  'POST /sandboxes/{sandboxID}/snapshots',
  'GET /templates',
  'GET /templates/{templateID}',
  'DELETE /templates/{templateID}',
] as const;

class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function match(pattern: string, method: string, path: string): Record<string, string> | null {
  const [m, p] = pattern.split(' ') as [string, string];
  if (m !== method) return null;
  const want = p.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const value = got[i] ?? '';
    if (part.startsWith('{')) params[part.slice(1, -1)] = decodeURIComponent(value);
    else if (part !== value) return null;
  }
  return params;
}

export class ControlApi {
  readonly faults: ControlFaults = { create: null, slowMs: 0 };
  /** Every request's `METHOD route` and status, for tests and the conformance check. */
  readonly served: Array<{ route: string; status: number }> = [];

  readonly registry: SandboxRegistry;
  readonly apiKey: string;
  constructor(registry: SandboxRegistry, apiKey: string) {
    this.registry = registry;
    this.apiKey = apiKey;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://api');
    const method = req.method ?? 'GET';
    let route = `${method} ${url.pathname}`;
    let status = 500;
    try {
      for (const pattern of ROUTES) {
        const params = match(pattern, method, url.pathname);
        if (params === null) continue;
        route = pattern;
        this.#authenticate(req);
        const [code, body] = await this.#route(pattern, params, req, url);
        status = code;
        send(res, code, body);
        return;
      }
      throw new ApiError(404, `no route ${method} ${url.pathname}`);
    } catch (error) {
      status = error instanceof ApiError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      send(res, status, { code: status, message } satisfies Schemas['Error']);
    } finally {
      this.served.push({ route, status });
    }
  }

  #authenticate(req: IncomingMessage): void {
    const given = Buffer.from(typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : '');
    const expected = Buffer.from(this.apiKey);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new ApiError(401, 'Invalid API key');
  }

  async #json(req: IncomingMessage): Promise<Record<string, unknown>> {
    const body = await readBody(req);
    if (body.length === 0) return {};
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {}
    throw new ApiError(400, 'the body is not a JSON object');
  }

  #sandbox(id: string | undefined): StandInSandbox {
    const sandbox = id === undefined ? undefined : this.registry.sandboxes.get(id);
    if (sandbox === undefined)
      throw new ApiError(404, `sandbox "${id}" doesn't exist or you don't have access to it`);
    return sandbox;
  }

  async #route(
    pattern: (typeof ROUTES)[number],
    params: Record<string, string>,
    req: IncomingMessage,
    url: URL,
  ): Promise<[number, unknown?]> {
    switch (pattern) {
      case 'POST /sandboxes':
      case 'POST /v2/sandboxes':
        return [201, await this.#create(await this.#json(req))];
      case 'GET /sandboxes':
      case 'GET /v2/sandboxes':
        return [200, this.#list(url)];
      case 'GET /sandboxes/{sandboxID}':
        return [200, detail(this.#sandbox(params.sandboxID))];
      case 'DELETE /sandboxes/{sandboxID}':
        this.#sandbox(params.sandboxID);
        await this.registry.kill(params.sandboxID ?? '');
        return [204];
      case 'POST /sandboxes/{sandboxID}/timeout': {
        const sandbox = this.#sandbox(params.sandboxID);
        const body = await this.#json(req);
        if (typeof body.timeout !== 'number' || body.timeout < 0)
          throw new ApiError(400, 'timeout must be a number of seconds');
        this.registry.setTimeout(sandbox, body.timeout);
        return [204];
      }
      case 'POST /sandboxes/{sandboxID}/pause': {
        const sandbox = this.#sandbox(params.sandboxID);
        if (sandbox.state === 'paused') throw new ApiError(409, 'sandbox is already paused');
        await this.registry.pause(sandbox);
        return [204];
      }
      case 'POST /sandboxes/{sandboxID}/resume':
      case 'POST /sandboxes/{sandboxID}/connect':
      case 'POST /v2/sandboxes/{sandboxID}/connect': {
        const sandbox = this.#sandbox(params.sandboxID);
        const body = await this.#json(req);
        const wasPaused = sandbox.state === 'paused';
        if (pattern.endsWith('/resume') && !wasPaused) throw new ApiError(409, 'sandbox is not paused');
        await this.registry.resume(sandbox);
        if (typeof body.timeout === 'number') this.registry.setTimeout(sandbox, body.timeout);
        return [wasPaused ? 201 : 200, summary(sandbox)];
      }
      case 'POST /sandboxes/{sandboxID}/snapshots': {
        const sandbox = this.#sandbox(params.sandboxID);
        const body = await this.#json(req);
        const template = await this.registry.snapshot(
          sandbox,
          typeof body.name === 'string' ? body.name : undefined,
        );
        return [
          201,
          {
            snapshotID: `${template.templateID}:default`,
            names: template.names,
          } satisfies Schemas['SnapshotInfo'],
        ];
      }
      case 'GET /templates':
        return [200, [...this.registry.templates.values()].map(templateOut)];
      case 'GET /templates/{templateID}': {
        const template = this.registry.templates.get(params.templateID ?? '');
        if (template === undefined) throw new ApiError(404, `template "${params.templateID}" not found`);
        const at = template.createdAt.toISOString();
        return [
          200,
          {
            templateID: template.templateID,
            public: false,
            aliases: [],
            names: template.names,
            createdAt: at,
            updatedAt: at,
            lastSpawnedAt: null,
            spawnCount: 0,
            builds: [
              {
                buildID: `build-${template.templateID}`,
                cpuCount: template.cpuCount,
                memoryMB: template.memoryMB,
                createdAt: at,
                updatedAt: at,
                status: 'ready',
              },
            ],
          } satisfies Schemas['TemplateWithBuilds'],
        ];
      }
      case 'DELETE /templates/{templateID}':
        if (!(await this.registry.deleteTemplate(params.templateID ?? '')))
          throw new ApiError(404, 'template not found');
        return [204];
    }
  }

  async #create(body: Record<string, unknown>): Promise<Schemas['Sandbox']> {
    const fault = this.faults.create;
    if (fault === 'error500') throw new ApiError(500, 'internal error: the orchestrator is unavailable');
    if (fault === 'quota')
      throw new ApiError(
        429,
        'You have reached the maximum number of concurrent E2B sandboxes (20) for your plan',
      );
    if (fault === 'slow') await new Promise((resolve) => setTimeout(resolve, this.faults.slowMs));
    if (typeof body.templateID !== 'string') throw new ApiError(400, 'templateID is required');
    const template = this.registry.template(body.templateID);
    if (template === undefined) throw new ApiError(400, `template '${body.templateID}' not found`);
    const strings = (value: unknown, name: string): Record<string, string> => {
      if (value === undefined || value === null) return {};
      if (
        typeof value !== 'object' ||
        Array.isArray(value) ||
        Object.values(value).some((v) => typeof v !== 'string')
      )
        throw new ApiError(400, `${name} must map strings to strings`);
      return { ...(value as Record<string, string>) };
    };
    let policy: ReturnType<typeof policyFrom>;
    try {
      policy = policyFrom(body);
    } catch (error) {
      throw new ApiError(400, error instanceof PolicyError ? error.message : 'invalid network configuration');
    }
    const sandbox = await this.registry.create({
      template,
      envVars: strings(body.envVars, 'envVars'),
      metadata: strings(body.metadata, 'metadata'),
      timeoutSeconds: typeof body.timeout === 'number' ? body.timeout : 15,
      // E2B secures envd unless asked not to (the SDK no longer sends the field).
      secure: body.secure !== false,
      policy,
      allowInternetAccess:
        typeof body.allow_internet_access === 'boolean' ? body.allow_internet_access : null,
      network:
        typeof body.network === 'object' && body.network !== null
          ? (body.network as Record<string, unknown>)
          : undefined,
    });
    return {
      ...summary(sandbox),
      ...(fault === 'foreign_domain' ? { domain: 'sandbox.attacker.example' } : {}),
    };
  }

  #list(url: URL): Schemas['ListedSandbox'][] {
    const filter = new URLSearchParams(url.searchParams.get('metadata') ?? '');
    const states = (url.searchParams.get('state') ?? '').split(',').filter((s) => s !== '');
    return [...this.registry.sandboxes.values()]
      .filter((s) => [...filter.entries()].every(([k, v]) => s.metadata[k] === v))
      .filter((s) => states.length === 0 || states.includes(s.state))
      .map(listed);
  }
}

function summary(s: StandInSandbox): Schemas['Sandbox'] {
  return {
    templateID: s.templateID,
    sandboxID: s.sandboxID,
    clientID: 'standin',
    envdVersion: ENVD_VERSION,
    ...(s.envdAccessToken === undefined ? {} : { envdAccessToken: s.envdAccessToken }),
    domain: null,
  };
}

function listed(s: StandInSandbox): Schemas['ListedSandbox'] {
  return {
    templateID: s.templateID,
    sandboxID: s.sandboxID,
    clientID: 'standin',
    startedAt: s.startedAt.toISOString(),
    endAt: s.endAt.toISOString(),
    cpuCount: 2,
    memoryMB: 2048,
    diskSizeMB: 10240,
    envdVersion: ENVD_VERSION,
    metadata: s.metadata,
    state: s.state,
  };
}

function detail(s: StandInSandbox): Schemas['SandboxDetail'] {
  return {
    ...listed(s),
    ...(s.envdAccessToken === undefined ? {} : { envdAccessToken: s.envdAccessToken }),
    domain: null,
    ...(s.allowInternetAccess === null ? {} : { allowInternetAccess: s.allowInternetAccess }),
    ...(s.network === undefined ? {} : { network: s.network as Schemas['SandboxNetworkConfig'] }),
  };
}

function templateOut(t: Template): Schemas['Template'] {
  const at = t.createdAt.toISOString();
  return {
    templateID: t.templateID,
    buildID: `build-${t.templateID}`,
    cpuCount: t.cpuCount,
    memoryMB: t.memoryMB,
    diskSizeMB: 10240,
    public: false,
    aliases: [],
    names: t.names,
    createdAt: at,
    updatedAt: at,
    createdBy: null,
    lastSpawnedAt: null,
    spawnCount: 0,
    buildCount: 1,
    buildStatus: 'ready',
    envdVersion: ENVD_VERSION,
  };
}
