import {
  DeviceApproval,
  DeviceAuthorization,
  DeviceAuthorizationRequest,
  DeviceDecision,
  DeviceRequestInfo,
  DeviceTokenGranted,
  DeviceTokenRequest,
  DeviceUserCodeInput,
  Problem,
} from '@airlock/schema/api';
import { z } from 'zod';
import { iso } from '../env.ts';
import { body, createRoute, defineRoute, json } from '../route.ts';
import { decideDeviceLogin, describeDeviceLogin, pollDeviceLogin, startDeviceLogin } from './device.ts';

// Device-code login for the CLI (ADR 0170). The two public endpoints are the
// CLI's; the three others are the dashboard's approval page, for a logged-in
// person with a login session (an API token cannot mint more tokens).

const tags = ['auth'];

const DeviceTokenProblem = Problem.extend({
  error: z.enum(['authorization_pending', 'slow_down', 'access_denied', 'expired_token', 'invalid_grant']),
  interval: z.number().int().optional(),
}).meta({ id: 'DeviceTokenProblem' });

export const deviceRoutes = [
  defineRoute({
    access: { kind: 'public' },
    route: createRoute({
      method: 'post',
      path: '/auth/device',
      tags,
      summary: 'Start a CLI login: a device code to poll with and a user code to approve',
      description:
        'RFC 8628 device authorization. Show `userCode` and `verificationUri`; poll `/auth/device/token` every `interval` seconds.',
      request: { body: body(DeviceAuthorizationRequest) },
      responses: { 200: json(DeviceAuthorization, 'The code pair') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const input = c.req.valid('json');
      const started = await startDeviceLogin(
        scope,
        input.client ?? { name: 'airlock CLI' },
        c.req.raw.headers,
      );
      const base = `${scope.config().services.public_url.replace(/\/$/, '')}/device`;
      return c.json(
        {
          deviceCode: started.deviceCode,
          userCode: started.userCode,
          verificationUri: base,
          verificationUriComplete: `${base}?code=${encodeURIComponent(started.userCode)}`,
          interval: started.interval,
          expiresIn: started.expiresIn,
        },
        200,
      );
    },
  }),
  defineRoute({
    access: { kind: 'public' },
    route: createRoute({
      method: 'post',
      path: '/auth/device/token',
      tags,
      summary: 'Poll a CLI login: the API token once approved',
      description:
        'Until then 400 problem+json with `error`: `authorization_pending`, `slow_down` (wait `interval` s), `access_denied`, `expired_token`, or `invalid_grant` (unknown or already used). The token is returned once.',
      request: { body: body(DeviceTokenRequest) },
      responses: {
        200: json(DeviceTokenGranted, 'Approved: the API token, in this response only'),
        400: {
          description: 'Not (yet) approved',
          content: { 'application/problem+json': { schema: DeviceTokenProblem } },
        },
      },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const redeemed = await pollDeviceLogin(scope, c.req.valid('json').deviceCode, c.req.raw.headers);
      const row = redeemed.row;
      return c.json(
        {
          token: redeemed.token,
          orgId: row.orgId,
          email: redeemed.email,
          apiToken: {
            id: row.id,
            orgId: row.orgId,
            name: row.name,
            displayPrefix: row.displayPrefix,
            createdAt: iso(row.createdAt),
            lastUsedAt: iso(row.lastUsedAt),
            expiresAt: iso(row.expiresAt),
            revokedAt: iso(row.revokedAt),
          },
        },
        200,
      );
    },
  }),
  defineRoute({
    access: { kind: 'user', sessionOnly: true },
    route: createRoute({
      method: 'post',
      path: '/auth/device/lookup',
      tags,
      summary: 'What a pending CLI login is: the client, its address, when (shown before approving)',
      request: { body: body(DeviceUserCodeInput) },
      responses: { 200: json(DeviceRequestInfo, 'The pending login') },
    }),
    handler: async (c) =>
      c.json(
        await describeDeviceLogin(
          c.get('scope'),
          c.get('principal'),
          c.req.valid('json').userCode,
          c.req.raw.headers,
        ),
        200,
      ),
  }),
  defineRoute({
    access: { kind: 'user', sessionOnly: true },
    route: createRoute({
      method: 'post',
      path: '/auth/device/approve',
      tags,
      summary: 'Approve a CLI login: its API token acts as you in this org',
      request: { body: body(DeviceApproval) },
      responses: { 200: json(DeviceDecision, 'Approved') },
    }),
    handler: async (c) => {
      const input = c.req.valid('json');
      const decided = await decideDeviceLogin(
        c.get('scope'),
        c.get('principal'),
        { userCode: input.userCode, approve: { orgId: input.orgId } },
        c.req.raw.headers,
      );
      return c.json(decided, 200);
    },
  }),
  defineRoute({
    access: { kind: 'user', sessionOnly: true },
    route: createRoute({
      method: 'post',
      path: '/auth/device/deny',
      tags,
      summary: 'Deny a CLI login',
      request: { body: body(DeviceUserCodeInput) },
      responses: { 200: json(DeviceDecision, 'Denied') },
    }),
    handler: async (c) =>
      c.json(
        await decideDeviceLogin(
          c.get('scope'),
          c.get('principal'),
          { userCode: c.req.valid('json').userCode, approve: null },
          c.req.raw.headers,
        ),
        200,
      ),
  }),
];
