import { can, type DeviceRequestInfo } from '@airlock/schema/api';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { fieldError } from '../api/client.ts';
import { api } from '../api/endpoints.ts';
import { meQuery } from '../api/session.ts';
import { Notice, ProblemAlert } from '../ui/alert.tsx';
import { Button } from '../ui/button.tsx';
import { SelectField, TextField } from '../ui/field.tsx';

// `/device`: approve or deny a CLI login (`airlock login`, ADR 0170). The
// person enters (or confirms) the code their terminal shows, sees who asked
// and from where — the defence against a phished code — picks the org the
// token will act in, and decides. The verification link may carry the code.

export function DevicePage({ code: initial }: { code: string | undefined }) {
  const me = useQuery(meQuery).data;
  const [code, setCode] = useState(initial ?? '');
  // Only orgs where the approver may own tokens can be chosen; the first is the default.
  const eligible = me?.memberships.filter((m) => can(m.role, 'tokens.own')) ?? [];
  const [picked, setOrgId] = useState<string | undefined>(undefined);
  const orgId = picked ?? eligible[0]?.orgId ?? '';
  const chosen = eligible.find((m) => m.orgId === orgId);
  const lookup = useMutation({ mutationFn: (userCode: string) => api.deviceLookup(userCode) });
  const approve = useMutation({
    mutationFn: (info: DeviceRequestInfo) => api.deviceApprove(info.userCode, orgId),
  });
  const deny = useMutation({ mutationFn: (info: DeviceRequestInfo) => api.deviceDeny(info.userCode) });
  useEffect(() => {
    document.title = 'Approve CLI login · Airlock';
  }, []);
  const info = lookup.data;
  const decided = approve.data ?? deny.data;
  const onLookup = (event: FormEvent) => {
    event.preventDefault();
    lookup.mutate(code);
  };

  return (
    <main className="login">
      <div className="login-card">
        <h1>Approve CLI login{info === undefined ? '' : `: code ${info.userCode}`}</h1>
        {decided !== undefined ? (
          <Notice tone="success">
            {decided.decision === 'approved'
              ? 'Approved. Your terminal is logged in; you can close this page.'
              : 'Denied. The terminal that asked gets no access.'}
          </Notice>
        ) : info === undefined ? (
          <form onSubmit={onLookup} aria-label="Enter the code from your terminal">
            <p className="muted">
              Enter the code that <code>airlock login</code> shows in your terminal.
            </p>
            <TextField
              label="Code"
              required
              autoFocus
              autoComplete="off"
              maxLength={12}
              value={code}
              error={fieldError(lookup.error, 'userCode')}
              onChange={(e) => setCode(e.target.value.toUpperCase())}
            />
            <ProblemAlert error={fieldError(lookup.error, 'userCode') === undefined ? lookup.error : null} />
            <Button type="submit" variant="primary" busy={lookup.isPending}>
              Continue
            </Button>
          </form>
        ) : (
          <section aria-label="The login request">
            <Notice tone={info.sameIp ? 'info' : 'warning'}>
              Approve only if you just ran <code>airlock login</code> yourself and it shows{' '}
              <strong>{info.userCode}</strong>.
              {info.sameIp
                ? ' It came from your own network address.'
                : ` It came from ${info.requestIp}, not from your address (${info.yourIp}): if you did not start it, deny it.`}
            </Notice>
            <dl className="facts">
              <dt>Client (as it describes itself)</dt>
              <dd>
                {info.client.name}
                {info.client.version === null ? '' : ` ${info.client.version}`}
                {info.client.hostname === null ? '' : ` on ${info.client.hostname}`}
                {info.client.platform === null ? '' : ` (${info.client.platform})`}
              </dd>
              <dt>Requested from</dt>
              <dd>
                {info.requestIp}
                {info.requestUserAgent === null ? '' : ` (${info.requestUserAgent})`}
              </dd>
              <dt>Requested at</dt>
              <dd>
                {new Date(info.createdAt).toLocaleString()} (the code expires{' '}
                {new Date(info.expiresAt).toLocaleTimeString()})
              </dd>
            </dl>
            <SelectField
              label="Organization the token acts in"
              value={orgId}
              onChange={(e) => setOrgId(e.target.value)}
            >
              {me?.memberships.map((m) => (
                <option key={m.orgId} value={m.orgId} disabled={!can(m.role, 'tokens.own')}>
                  {m.orgName} ({m.role})
                </option>
              ))}
            </SelectField>
            <p>
              Approving gives that terminal an API token that acts as <strong>{me?.user.email}</strong>{' '}
              {chosen === undefined ? (
                'in the organization you pick'
              ) : (
                <>
                  with your role (<strong>{chosen.role}</strong>) in <strong>{chosen.orgName}</strong>
                </>
              )}{' '}
              for <strong>{info.tokenExpiresInDays} days</strong>: whatever you can do there, it can do. You
              can revoke it any time under Settings → Your API tokens.
            </p>
            <ProblemAlert error={approve.error ?? deny.error} />
            <div className="row">
              <Button
                variant="primary"
                busy={approve.isPending}
                disabled={chosen === undefined}
                onClick={() => approve.mutate(info)}
              >
                Approve
              </Button>
              <Button variant="danger" busy={deny.isPending} onClick={() => deny.mutate(info)}>
                Deny
              </Button>
            </div>
          </section>
        )}
      </div>
    </main>
  );
}
