import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client.ts';
import { api } from '../api/endpoints.ts';
import { Notice, ProblemAlert } from '../ui/alert.tsx';
import { Button } from '../ui/button.tsx';
import { TextField } from '../ui/field.tsx';

// Log in with an emailed one-time code: ask for the address, then the code.
// Locally the code is printed by `./dev start` and listed by the mail sink.

export function LoginPage({ redirect }: { redirect: string | undefined }) {
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState<{ codeLength: number; expiresInSeconds: number } | null>(null);
  const codeInput = useRef<HTMLInputElement>(null);
  const queryClient = useQueryClient();
  const navigate = useNavigate();

  const requestCode = useMutation({
    mutationFn: () => api.requestCode(email),
    onSuccess: (reply) => setSent(reply),
  });
  const verify = useMutation({
    mutationFn: () => api.verifyCode(email, code),
    onSuccess: async (me) => {
      queryClient.setQueryData(['me'], me);
      const first = me.memberships[0];
      const target = redirect?.startsWith('/')
        ? redirect
        : first === undefined
          ? '/welcome'
          : `/orgs/${first.orgId}`;
      await navigate({ to: target });
    },
  });
  useEffect(() => {
    if (sent !== null) codeInput.current?.focus();
  }, [sent]);
  useEffect(() => {
    document.title = 'Log in · Airlock';
  }, []);

  const onEmail = (event: FormEvent) => {
    event.preventDefault();
    requestCode.mutate();
  };
  const onCode = (event: FormEvent) => {
    event.preventDefault();
    verify.mutate();
  };
  const attemptsLeft = verify.error instanceof ApiError ? verify.error.extension('attemptsLeft') : undefined;

  return (
    <main className="login">
      <div className="login-card">
        <h1>
          <span className="logo" aria-hidden="true">
            ◈
          </span>{' '}
          Airlock
        </h1>
        <p className="muted">Coding agents in sandboxes that hold no secret.</p>
        {sent === null ? (
          <form onSubmit={onEmail} aria-label="Request a login code">
            <TextField
              label="Email"
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              autoFocus
            />
            <ProblemAlert error={requestCode.error} />
            <Button type="submit" variant="primary" busy={requestCode.isPending}>
              Email me a code
            </Button>
          </form>
        ) : (
          <form onSubmit={onCode} aria-label="Enter the login code">
            <Notice>
              If {email} may log in, a {sent.codeLength}-digit code is on its way. It expires in{' '}
              {Math.round(sent.expiresInSeconds / 60)} minutes.
            </Notice>
            <TextField
              ref={codeInput}
              label="Login code"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]*"
              maxLength={sent.codeLength}
              required
              value={code}
              onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
              help={typeof attemptsLeft === 'number' ? `${attemptsLeft} attempts left` : undefined}
            />
            <ProblemAlert error={verify.error} />
            <div className="row">
              <Button type="submit" variant="primary" busy={verify.isPending}>
                Log in
              </Button>
              <Button
                variant="ghost"
                onClick={() => {
                  setSent(null);
                  setCode('');
                  verify.reset();
                }}
              >
                Use another address
              </Button>
            </div>
          </form>
        )}
      </div>
    </main>
  );
}
