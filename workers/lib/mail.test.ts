import { env } from 'cloudflare:workers';
import { ConfigError, configFromWorkerEnv } from '@airlock/config';
import { describe, expect, it } from 'vitest';
import { mailUrl } from '../control-plane/testing/harness.ts';
import { createLogger } from './log.ts';
import { createMailer, MailError } from './mail.ts';

// The mail interface: the http adapter speaks the Resend-compatible API the
// local sink implements; the console provider is refused in production.

describe('mail', () => {
  it('posts {from, to, subject, text} with the Bearer key to the mail API', async () => {
    const to = `mail-${crypto.randomUUID().slice(0, 8)}@example.test`;
    await createMailer(configFromWorkerEnv(env), createLogger()).send({
      to,
      subject: 'Hello',
      text: 'Body text',
    });
    const messages = (await (await fetch(`${mailUrl()}/messages`)).json()) as {
      to: string[];
      from: string;
      subject: string;
      text: string;
    }[];
    expect(messages.find((m) => m.to.includes(to))).toMatchObject({
      from: 'Airlock <login@airlock.local>',
      subject: 'Hello',
      text: 'Body text',
    });
  });

  it('reports a refused delivery as a MailError', async () => {
    const config = configFromWorkerEnv({ ...env, AIRLOCK_MAIL_HTTP_API_KEY: 'wrong-key-123' });
    await expect(
      createMailer(
        config,
        createLogger({}, () => {}),
      ).send({ to: 'x@example.test', subject: 's', text: 't' }),
    ).rejects.toBeInstanceOf(MailError);
  });

  it('refuses the console provider in production', () => {
    const attempt = () =>
      configFromWorkerEnv({ ...env, AIRLOCK_ENV: 'production', AIRLOCK_MAIL_PROVIDER: 'console' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigError).problems.join('\n')).toContain('mail.provider');
    }
  });
});
