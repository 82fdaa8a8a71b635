// The person on the other side of `airlock login`: logs in to the dashboard's
// API with an emailed code (read from the test stack's mail sink) and
// approves or denies the code the CLI shows, as the approval page does.

export interface Approver {
  lookup(userCode: string): Promise<{ status: number; body: Record<string, unknown> }>;
  approve(userCode: string, orgId: string): Promise<number>;
  deny(userCode: string): Promise<number>;
}

export async function loginApprover(input: {
  workerUrl: string;
  mailUrl: string;
  publicUrl: string;
  email: string;
}): Promise<Approver> {
  const origin = new URL(input.publicUrl).origin;
  const post = (path: string, body: unknown, cookie?: string) =>
    fetch(`${input.workerUrl}/api${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(cookie === undefined ? {} : { cookie, origin }),
      },
      body: JSON.stringify(body),
    });
  const requested = await post('/auth/otp/request', { email: input.email });
  if (requested.status !== 202) throw new Error(`otp request: ${requested.status} ${await requested.text()}`);
  const mails = (await (await fetch(`${input.mailUrl}/messages`)).json()) as Array<{
    to: string[];
    text: string;
  }>;
  const code = /login code is (\d+)/.exec(
    mails.filter((m) => m.to.includes(input.email)).at(-1)?.text ?? '',
  )?.[1];
  if (code === undefined) throw new Error(`no login code mailed to ${input.email}`);
  const verified = await post('/auth/otp/verify', { email: input.email, code });
  const cookie = /^([^;]+)/.exec(verified.headers.get('set-cookie') ?? '')?.[1];
  if (verified.status !== 200 || cookie === undefined) throw new Error(`otp verify: ${verified.status}`);
  return {
    lookup: async (userCode) => {
      const reply = await post('/auth/device/lookup', { userCode }, cookie);
      return { status: reply.status, body: (await reply.json()) as Record<string, unknown> };
    },
    approve: async (userCode, orgId) =>
      (await post('/auth/device/approve', { userCode, orgId }, cookie)).status,
    deny: async (userCode) => (await post('/auth/device/deny', { userCode }, cookie)).status,
  };
}
