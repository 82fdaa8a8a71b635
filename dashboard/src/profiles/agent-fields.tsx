import {
  AGENT_NAMES,
  type AgentRuntime,
  type EnvVarInput,
  type EnvVarView,
  LATEST_AGENT_VERSION,
  SECRET_IN_SANDBOX_ACKNOWLEDGEMENT,
  VERIFIED_AGENT_VERSIONS,
} from '@airlock/schema/api';
import { Button } from '../ui/button.tsx';
import { SelectField, TextArea, TextField } from '../ui/field.tsx';

// The draft editor's agent settings: the CLI version (the verified one unless
// the profile pins another or opts into latest), the house rules every
// runtime reads, and environment variables — plain ones, and the clearly
// labelled "secret in the sandbox" kind, whose stored value is never shown and
// whose warning says what it costs (ADR 0152).

/** A variable row as the editor holds it: a secret's value is empty unless a new one is typed. */
export type EnvRow =
  | { name: string; kind: 'plain'; value: string }
  | { name: string; kind: 'secret_in_sandbox'; value: string; stored: boolean };

export const envRowsOf = (vars: readonly EnvVarView[]): EnvRow[] =>
  vars.map((v) =>
    v.kind === 'plain'
      ? { name: v.name, kind: 'plain', value: v.value }
      : { name: v.name, kind: 'secret_in_sandbox', value: '', stored: true },
  );

/** What the API is sent: a stored secret without a new value is kept as it is. */
export const envInputOf = (rows: readonly EnvRow[]): EnvVarInput[] =>
  rows.map((r) =>
    r.kind === 'plain'
      ? { name: r.name, kind: 'plain', value: r.value }
      : {
          name: r.name,
          kind: 'secret_in_sandbox',
          acknowledge: SECRET_IN_SANDBOX_ACKNOWLEDGEMENT,
          ...(r.value === '' ? {} : { value: r.value }),
        },
  );

export function AgentVersionField({
  runtime,
  value,
  error,
  onChange,
}: {
  runtime: AgentRuntime;
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  const verified = VERIFIED_AGENT_VERSIONS[runtime];
  return (
    <TextField
      label={`${AGENT_NAMES[runtime]} CLI version`}
      value={value}
      error={error}
      spellCheck={false}
      placeholder={verified}
      help={
        value === LATEST_AGENT_VERSION
          ? `"latest" installs whatever the registry has the day the snapshot is built; Airlock verified ${verified}.`
          : `An exact version; Airlock last verified ${verified}. "latest" is opt-in.`
      }
      onChange={(e) => onChange(e.target.value.trim())}
    />
  );
}

export function InstructionsField({
  value,
  error,
  onChange,
}: {
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  return (
    <TextArea
      label="Instructions for the agent"
      rows={5}
      value={value}
      error={error}
      help="House rules in Markdown, written at snapshot build where the runtime reads them (AGENTS.md for Codex and OpenCode, CLAUDE.md for Claude Code)."
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

export function EnvVarsEditor({
  rows,
  canSetSecrets,
  errorAt,
  onChange,
}: {
  rows: readonly EnvRow[];
  canSetSecrets: boolean;
  errorAt: (path: string) => string | undefined;
  onChange: (rows: EnvRow[]) => void;
}) {
  const update = (index: number, row: EnvRow) => onChange(rows.map((r, i) => (i === index ? row : r)));
  const hasSecret = rows.some((r) => r.kind === 'secret_in_sandbox');
  return (
    <>
      {hasSecret && (
        <div role="alert" className="alert alert-warning">
          <strong>A secret in the sandbox breaks the credentialless promise for it.</strong> The agent, and
          anything it runs, can read and send it anywhere the profile allows. Prefer a connection: the gateway
          injects its credential and the sandbox only ever holds a placeholder.
        </div>
      )}
      {rows.map((row, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id; position is the identity
        <fieldset className="grid-3 env-row" key={index} aria-label={`Variable ${index + 1}`}>
          <TextField
            label="Name"
            value={row.name}
            spellCheck={false}
            error={errorAt(`envVars.${index}.name`)}
            onChange={(e) => update(index, { ...row, name: e.target.value })}
          />
          {row.kind === 'plain' ? (
            <TextField
              label="Value"
              value={row.value}
              spellCheck={false}
              error={errorAt(`envVars.${index}.value`)}
              onChange={(e) => update(index, { ...row, value: e.target.value })}
            />
          ) : (
            <TextField
              label="Secret in the sandbox"
              type="password"
              autoComplete="off"
              value={row.value}
              disabled={!canSetSecrets}
              placeholder={row.stored ? 'stored — type to replace' : 'value'}
              error={errorAt(`envVars.${index}.value`)}
              help={canSetSecrets ? undefined : 'Only owners and admins may set a secret in the sandbox.'}
              onChange={(e) => update(index, { ...row, value: e.target.value })}
            />
          )}
          <div className="row end">
            <SelectField
              label="Kind"
              value={row.kind}
              onChange={(e) =>
                update(
                  index,
                  e.target.value === 'plain'
                    ? { name: row.name, kind: 'plain', value: '' }
                    : { name: row.name, kind: 'secret_in_sandbox', value: '', stored: false },
                )
              }
            >
              <option value="plain">plain value</option>
              <option value="secret_in_sandbox" disabled={!canSetSecrets && row.kind === 'plain'}>
                secret in the sandbox
              </option>
            </SelectField>
            <Button
              variant="ghost"
              aria-label={`Remove variable ${index + 1}`}
              onClick={() => onChange(rows.filter((_, i) => i !== index))}
            >
              Remove
            </Button>
          </div>
        </fieldset>
      ))}
      <Button onClick={() => onChange([...rows, { name: '', kind: 'plain', value: '' }])}>
        Add variable
      </Button>
    </>
  );
}
