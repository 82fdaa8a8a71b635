import { type Connection, describeCatalog, type FieldError } from '@airlock/schema/api';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionForm } from './connection-form.tsx';
import type { Payload } from './field-form.ts';

// The add/edit connection form is generated from the real catalog the API
// serves: one input per declared field, secrets as write-only password
// inputs, the base-URL override under "Advanced", the API's own field checks
// before anything is sent, and the API's 422 errors on the right inputs.

afterEach(cleanup);

const catalog = describeCatalog();
const integration = (key: string) => {
  const found = catalog.find((i) => i.key === key);
  if (found === undefined) throw new Error(`no ${key} in the catalog`);
  return found;
};

function renderForm(key: string, options: { existing?: Connection; serverErrors?: FieldError[] } = {}) {
  const submitted: ({ name: string } & Payload)[] = [];
  const view = render(
    <ConnectionForm
      integration={integration(key)}
      {...(options.existing === undefined ? {} : { existing: options.existing })}
      busy={false}
      serverErrors={options.serverErrors ?? []}
      submitLabel="Save"
      onSubmit={(input) => submitted.push(input)}
    />,
  );
  return { submitted, view, user: userEvent.setup() };
}

describe('the connection form generated from an integration', () => {
  it('renders OpenAI as a password for the key and the base URL under Advanced', () => {
    renderForm('openai');
    const key = screen.getByLabelText('API key');
    expect(key).toHaveProperty('type', 'password');
    expect(key).toHaveProperty('required', true);
    const advanced = screen.getByText('Advanced').closest('details');
    expect(advanced?.open).toBe(false);
    expect(within(advanced as HTMLElement).getByLabelText('Base URL override')).toHaveProperty('type', 'url');
    expect(screen.getByLabelText('Connection name')).toHaveProperty('value', 'OpenAI');
  });

  it("checks fields with the API's rules before sending, and says which", async () => {
    const { submitted, user } = renderForm('slack');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(screen.getByText('Bot token is required')).toBeTruthy();
    expect(screen.getByLabelText('Bot token').getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(screen.getByLabelText('Bot token'));
    await user.type(screen.getByLabelText('Bot token'), 'not-a-slack-token');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(screen.getByText('Bot token must be xoxb-… or xoxp-…')).toBeTruthy();
    expect(submitted).toEqual([]);
  });

  it('sends only filled fields, split into settings and credentials', async () => {
    const { submitted, user } = renderForm('openai');
    await user.type(screen.getByLabelText('API key'), 'sk-test-0123456789');
    await user.click(screen.getByText('Advanced'));
    await user.type(screen.getByLabelText('Base URL override'), 'http://127.0.0.1:9999');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(submitted).toEqual([
      {
        name: 'OpenAI',
        config: { base_url: 'http://127.0.0.1:9999' },
        credentials: { api_key: 'sk-test-0123456789' },
      },
    ]);
  });

  it('renders closed choices as selects, PEM keys as text areas, and a required base URL up front', () => {
    renderForm('http_api_key');
    const placement = screen.getByLabelText('Key placement') as HTMLSelectElement;
    expect([...placement.options].map((o) => o.value)).toEqual(['header', 'bearer', 'query']);
    expect(screen.getByLabelText('Base URL').closest('details')).toBeNull();
    expect(screen.queryByText('Advanced')).toBeNull();
    cleanup();
    renderForm('github_app');
    expect(screen.getByLabelText('App private key (PEM)').tagName).toBe('TEXTAREA');
    expect(screen.getByLabelText('App ID')).toHaveProperty('required', true);
  });

  it('edits without showing or resending secrets unless they are re-entered', async () => {
    const existing: Connection = {
      id: 'con_01M845HXPYPSR9PA19MMXHJW5M',
      integration: 'openai',
      name: 'Prod OpenAI',
      status: 'active',
      statusReason: null,
      config: { base_url: 'https://proxy.example.com' },
      credentialFields: ['api_key'],
      createdBy: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    const { submitted, user } = renderForm('openai', { existing });
    const key = screen.getByLabelText('API key');
    expect(key).toHaveProperty('value', '');
    expect(key).toHaveProperty('required', false);
    expect(screen.getByText(/Leave empty to keep it/)).toBeTruthy();
    expect(screen.getByText('Advanced').closest('details')?.open).toBe(true);
    expect(screen.getByLabelText('Base URL override')).toHaveProperty('value', 'https://proxy.example.com');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(submitted).toEqual([
      { name: 'Prod OpenAI', config: { base_url: 'https://proxy.example.com' }, credentials: undefined },
    ]);
  });

  it("puts the API's 422 field errors on their inputs, opening Advanced for the override", () => {
    renderForm('openai', {
      serverErrors: [
        {
          path: 'config.base_url',
          message: 'Base URL override must be an http(s) URL without query',
          code: 'invalid_field',
        },
      ],
    });
    expect(screen.getByText('Advanced').closest('details')?.open).toBe(true);
    const input = screen.getByLabelText('Base URL override');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    const described = input.getAttribute('aria-describedby') ?? '';
    expect(described.split(' ').map((id) => document.getElementById(id)?.textContent)).toContain(
      'Base URL override must be an http(s) URL without query',
    );
  });
});
