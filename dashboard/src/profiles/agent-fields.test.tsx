import { EnvVarInput, SECRET_IN_SANDBOX_ACKNOWLEDGEMENT } from '@airlock/schema/api';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { type EnvRow, EnvVarsEditor, envInputOf, envRowsOf } from './agent-fields.tsx';

// The environment variables of a draft: plain values as typed; a secret in
// the sandbox only as a clearly labelled kind, with a warning about what it
// costs, its stored value never shown, and only owners and admins able to set
// one. What the editor sends is what the API's own schema accepts.

afterEach(cleanup);

function Editor({ initial, canSetSecrets }: { initial: EnvRow[]; canSetSecrets: boolean }) {
  const [rows, setRows] = useState(initial);
  return (
    <>
      <EnvVarsEditor rows={rows} canSetSecrets={canSetSecrets} errorAt={() => undefined} onChange={setRows} />
      <output data-testid="sent">{JSON.stringify(envInputOf(rows))}</output>
    </>
  );
}

const sent = () => JSON.parse(screen.getByTestId('sent').textContent ?? '[]') as unknown[];

describe('the environment variables editor', () => {
  it('sends plain values as typed, with no warning', async () => {
    const user = userEvent.setup();
    render(<Editor initial={[]} canSetSecrets={true} />);
    await user.click(screen.getByRole('button', { name: 'Add variable' }));
    await user.type(screen.getByLabelText('Name'), 'RUST_LOG');
    await user.type(screen.getByLabelText('Value'), 'debug');
    expect(sent()).toEqual([{ name: 'RUST_LOG', kind: 'plain', value: 'debug' }]);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('labels a secret in the sandbox, warns what it costs, and sends it with the acknowledgement', async () => {
    const user = userEvent.setup();
    render(<Editor initial={[{ name: 'NPM_TOKEN', kind: 'plain', value: '' }]} canSetSecrets={true} />);
    await user.selectOptions(screen.getByLabelText('Kind'), 'secret_in_sandbox');
    expect(screen.getByRole('alert').textContent).toContain('breaks the credentialless promise');
    const input = screen.getByLabelText('Secret in the sandbox');
    expect(input.getAttribute('type')).toBe('password');
    await user.type(input, 'npm_secret_value');
    expect(sent()).toEqual([
      {
        name: 'NPM_TOKEN',
        kind: 'secret_in_sandbox',
        acknowledge: SECRET_IN_SANDBOX_ACKNOWLEDGEMENT,
        value: 'npm_secret_value',
      },
    ]);
    for (const v of sent()) expect(EnvVarInput.safeParse(v).success).toBe(true);
  });

  it('never shows a stored secret, keeps it unless replaced, and lets only owners and admins set one', () => {
    const rows = envRowsOf([{ name: 'NPM_TOKEN', kind: 'secret_in_sandbox' }]);
    render(<Editor initial={rows} canSetSecrets={false} />);
    const input = screen.getByLabelText('Secret in the sandbox') as HTMLInputElement;
    expect(input.value).toBe('');
    expect(input.placeholder).toContain('stored');
    expect(input.disabled).toBe(true);
    expect(screen.getByText('Only owners and admins may set a secret in the sandbox.')).toBeDefined();
    expect(sent()).toEqual([
      { name: 'NPM_TOKEN', kind: 'secret_in_sandbox', acknowledge: SECRET_IN_SANDBOX_ACKNOWLEDGEMENT },
    ]);
  });
});
