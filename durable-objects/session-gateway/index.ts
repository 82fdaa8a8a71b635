import { DurableObject } from 'cloudflare:workers';

// One per session: the only thing a sandbox can talk to. It will hold the
// runtime plan, mediate egress, fan out PTYs and batch audit events
// (DESIGN.md §1, §3, §4).

export class SessionGateway extends DurableObject {
  override async fetch(_request: Request): Promise<Response> {
    return Response.json(
      {
        type: 'https://airlock.dev/problems/not-implemented',
        title: 'Not implemented',
        status: 501,
        code: 'not_implemented',
        detail: 'The session gateway is not served by this build yet.',
      },
      { status: 501, headers: { 'content-type': 'application/problem+json' } },
    );
  }
}
