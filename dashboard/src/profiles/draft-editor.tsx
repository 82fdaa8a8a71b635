import {
  AGENT_NAMES,
  AGENT_RUNTIMES,
  type Connection,
  type Integration,
  type ProfileVersion,
  RUNTIME_MODEL_APIS,
  SANDBOX_PROVIDERS,
  type UpdateDraft,
  VERIFIED_AGENT_VERSIONS,
} from '@airlock/schema/api';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { ApiError } from '../api/client.ts';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { Notice, ProblemAlert } from '../ui/alert.tsx';
import { Button } from '../ui/button.tsx';
import { SelectField, TextArea, TextField } from '../ui/field.tsx';
import {
  AgentVersionField,
  type EnvRow,
  EnvVarsEditor,
  envInputOf,
  envRowsOf,
  InstructionsField,
} from './agent-fields.tsx';
import { lines, withOptional } from './form-helpers.tsx';
import { ProviderNote } from './provider-notes.tsx';
import { ResourcesFields } from './resources-fields.tsx';
import { ScriptEditor } from './script-editor.tsx';

// The draft editor: every setting of the one editable version. Saving sends
// the whole draft; the API's 422 field errors land next to their inputs.
// Testing the setup script and publishing act on the saved draft.

type Draft = Pick<
  ProfileVersion,
  | 'agentRuntime'
  | 'agentVersion'
  | 'agentInstructions'
  | 'sandboxProvider'
  | 'providerConnectionId'
  | 'modelConnectionId'
  | 'gitConnectionId'
  | 'repositories'
  | 'connectorBindings'
  | 'setupScript'
  | 'egressAllowlist'
  | 'resources'
  | 'stopSessionOnLeak'
> &
  Omit<UpdateDraft, 'envVars'>;

const draftOf = (v: ProfileVersion): Draft => ({
  agentRuntime: v.agentRuntime,
  agentVersion: v.agentVersion,
  agentInstructions: v.agentInstructions,
  sandboxProvider: v.sandboxProvider,
  providerConnectionId: v.providerConnectionId,
  modelConnectionId: v.modelConnectionId,
  gitConnectionId: v.gitConnectionId,
  repositories: v.repositories,
  connectorBindings: v.connectorBindings,
  setupScript: v.setupScript,
  egressAllowlist: v.egressAllowlist,
  resources: v.resources,
  stopSessionOnLeak: v.stopSessionOnLeak,
});

export interface DraftEditorProps {
  readonly version: ProfileVersion;
  readonly connections: readonly Connection[];
  readonly integrations: readonly Integration[];
  readonly onTestScript: () => void;
  readonly testing: boolean;
  readonly onDirtyChange: (dirty: boolean) => void;
}

export function DraftEditor({
  version,
  connections,
  integrations,
  onTestScript,
  testing,
  onDirtyChange,
}: DraftEditorProps) {
  const { orgId, can } = useOrg();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState(() => draftOf(version));
  const [allowlist, setAllowlist] = useState(version.egressAllowlist.join('\n'));
  const [envRows, setEnvRows] = useState<EnvRow[]>(() => envRowsOf(version.envVars));
  useEffect(() => {
    setDraft(draftOf(version));
    setAllowlist(version.egressAllowlist.join('\n'));
    setEnvRows(envRowsOf(version.envVars));
  }, [version]);
  const current = { ...draft, egressAllowlist: lines(allowlist), envVars: envInputOf(envRows) };
  const dirty =
    JSON.stringify(current) !==
    JSON.stringify({ ...draftOf(version), envVars: envInputOf(envRowsOf(version.envVars)) });
  useEffect(() => onDirtyChange(dirty), [dirty, onDirtyChange]);
  const editable = can('profiles.edit');

  const save = useMutation({
    mutationFn: () => api.updateDraft(orgId, version.profileId, version.id, current),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['versions', orgId, version.profileId] });
    },
  });
  const errors = useMemo(() => {
    const map = new Map<string, string>();
    if (save.error instanceof ApiError) for (const e of save.error.fieldErrors) map.set(e.path, e.message);
    return map;
  }, [save.error]);
  const under = (prefix: string) =>
    [...errors]
      .filter(([path]) => path === prefix || path.startsWith(`${prefix}.`))
      .map(([, m]) => m)
      .join('; ') || undefined;

  const kindOf = (c: Connection) => integrations.find((i) => i.key === c.integration);
  const usable = connections.filter((c) => c.status !== 'revoked');
  const apis = RUNTIME_MODEL_APIS[draft.agentRuntime];
  const models = usable.filter((c) => {
    const i = kindOf(c);
    return i?.kind === 'model' && i.modelApi !== null && apis.includes(i.modelApi);
  });
  const gits = usable.filter((c) => kindOf(c)?.kind === 'git');
  const accounts = usable.filter((c) => c.integration === draft.sandboxProvider);
  const connectors = usable.filter((c) => kindOf(c)?.kind === 'connector');
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <form onSubmit={onSubmit} className="draft-editor" aria-label={`Draft version ${version.number}`}>
      <fieldset disabled={!editable}>
        <legend>Runtime</legend>
        <div className="grid-2">
          <SelectField
            label="Agent runtime"
            value={draft.agentRuntime}
            error={under('agentRuntime')}
            onChange={(e) => {
              const runtime = e.target.value as Draft['agentRuntime'];
              // A new runtime starts at its verified CLI version, as the API does.
              setDraft((d) => ({
                ...d,
                agentRuntime: runtime,
                agentVersion: VERIFIED_AGENT_VERSIONS[runtime],
              }));
            }}
          >
            {AGENT_RUNTIMES.map((r) => (
              <option key={r} value={r}>
                {AGENT_NAMES[r]}
              </option>
            ))}
          </SelectField>
          <AgentVersionField
            runtime={draft.agentRuntime}
            value={draft.agentVersion}
            error={under('agentVersion')}
            onChange={(v) => set('agentVersion', v)}
          />
          <SelectField
            label="Sandbox provider"
            value={draft.sandboxProvider}
            error={under('sandboxProvider')}
            onChange={(e) => set('sandboxProvider', e.target.value as Draft['sandboxProvider'])}
          >
            {SANDBOX_PROVIDERS.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </SelectField>
        </div>
        {draft.sandboxProvider === 'docker' ? null : (
          <SelectField
            label="Provider account"
            value={draft.providerConnectionId ?? ''}
            error={under('providerConnectionId')}
            help={`The ${draft.sandboxProvider} sandbox-provider connection whose account runs this profile's sandboxes (none: the deployment's own, if it has one).`}
            onChange={(e) => set('providerConnectionId', e.target.value === '' ? null : e.target.value)}
          >
            <option value="">None</option>
            {accounts.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </SelectField>
        )}
        <ProviderNote provider={draft.sandboxProvider} />
        <SelectField
          label="Model provider connection"
          value={draft.modelConnectionId ?? ''}
          error={under('modelConnectionId')}
          help={
            models.length === 0
              ? `No ${apis.join('/')} connection yet: add one under Connections.`
              : `${AGENT_NAMES[draft.agentRuntime]} speaks the ${apis.join(' or ')} API.`
          }
          onChange={(e) => set('modelConnectionId', e.target.value === '' ? null : e.target.value)}
        >
          <option value="">None</option>
          {models.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </SelectField>
      </fieldset>

      <fieldset disabled={!editable}>
        <legend>Agent</legend>
        <InstructionsField
          value={draft.agentInstructions}
          error={under('agentInstructions')}
          onChange={(v) => set('agentInstructions', v)}
        />
        <h3 className="small">Environment variables</h3>
        <EnvVarsEditor
          rows={envRows}
          canSetSecrets={can('connections.manage')}
          errorAt={(path) => errors.get(path)}
          onChange={setEnvRows}
        />
      </fieldset>

      <fieldset disabled={!editable}>
        <legend>Repositories</legend>
        <SelectField
          label="Git connection"
          value={draft.gitConnectionId ?? ''}
          error={under('gitConnectionId')}
          onChange={(e) => set('gitConnectionId', e.target.value === '' ? null : e.target.value)}
        >
          <option value="">None</option>
          {gits.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </SelectField>
        {draft.repositories.map((repo, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id until saved; position is the identity
          <fieldset className="grid-3 repo-row" key={index} aria-label={`Repository ${index + 1}`}>
            <TextField
              label="Repository (owner/name)"
              value={repo.repository}
              error={under(`repositories.${index}.repository`)}
              onChange={(e) =>
                set(
                  'repositories',
                  draft.repositories.map((r, i) => (i === index ? { ...r, repository: e.target.value } : r)),
                )
              }
            />
            <TextField
              label="Ref"
              value={repo.ref ?? ''}
              placeholder="default branch"
              error={under(`repositories.${index}.ref`)}
              onChange={(e) =>
                set(
                  'repositories',
                  draft.repositories.map((r, i) =>
                    i === index ? withOptional(r, 'ref', e.target.value) : r,
                  ),
                )
              }
            />
            <div className="row end">
              <Button
                variant="ghost"
                aria-label={`Remove repository ${index + 1}`}
                onClick={() =>
                  set(
                    'repositories',
                    draft.repositories.filter((_, i) => i !== index),
                  )
                }
              >
                Remove
              </Button>
            </div>
          </fieldset>
        ))}
        <Button
          onClick={() => set('repositories', [...draft.repositories, { repository: '' }])}
          disabled={draft.gitConnectionId === null}
        >
          Add repository
        </Button>
      </fieldset>

      <fieldset disabled={!editable}>
        <legend>Connectors</legend>
        {connectors.length === 0 ? (
          <p className="muted">
            No connector connections (Slack, Jira, SigNoz, HTTP APIs) in this organization.
          </p>
        ) : (
          connectors.map((c) => {
            const bound = draft.connectorBindings.some((b) => b.connectionId === c.id);
            return (
              <label key={c.id} className="checkbox">
                <input
                  type="checkbox"
                  checked={bound}
                  onChange={() =>
                    set(
                      'connectorBindings',
                      bound
                        ? draft.connectorBindings.filter((b) => b.connectionId !== c.id)
                        : [...draft.connectorBindings, { connectionId: c.id }],
                    )
                  }
                />{' '}
                {c.name} <span className="muted small">({kindOf(c)?.displayName ?? c.integration})</span>
              </label>
            );
          })
        )}
        {under('connectorBindings') !== undefined && (
          <p className="field-error">{under('connectorBindings')}</p>
        )}
      </fieldset>

      <fieldset disabled={!editable}>
        <legend>Network and resources</legend>
        <TextArea
          label="Egress allowlist"
          rows={3}
          value={allowlist}
          error={under('egressAllowlist')}
          spellCheck={false}
          help="Hosts reachable without credentials, one per line (e.g. packages.example.com or *.cdn.example.net). Everything not brokered or listed here is denied."
          onChange={(e) => setAllowlist(e.target.value)}
        />
        <label className="checkbox">
          <input
            type="checkbox"
            checked={draft.stopSessionOnLeak}
            onChange={(e) => set('stopSessionOnLeak', e.target.checked)}
          />{' '}
          Stop the session when Airlock blocks a credential leak{' '}
          <span className="muted small">
            (a key or its placeholder sent to a host that is not its route is always blocked and flagged)
          </span>
        </label>
        <ResourcesFields
          value={draft.resources}
          errorOf={under}
          onChange={(next) => set('resources', next)}
        />
      </fieldset>

      <fieldset disabled={!editable}>
        <legend>Setup script</legend>
        <p className="muted small">
          Runs as the last step of the snapshot build, after the agent runtime is installed and repositories
          are cloned into the workspace. Keep it deterministic.
        </p>
        <ScriptEditor
          label="Setup script"
          value={draft.setupScript}
          readOnly={!editable}
          onChange={(v) => set('setupScript', v)}
        />
        {under('setupScript') !== undefined && <p className="field-error">{under('setupScript')}</p>}
      </fieldset>

      {errors.size === 0 && <ProblemAlert error={save.error} />}
      {errors.size > 0 && (
        <div role="alert" className="alert alert-error">
          The draft was not saved: {errors.size} setting{errors.size === 1 ? ' needs' : 's need'} attention.
        </div>
      )}
      {save.isSuccess && !dirty && <Notice tone="success">Draft saved.</Notice>}
      {editable && (
        <div className="row sticky-actions">
          <Button type="submit" variant="primary" busy={save.isPending} disabled={!dirty}>
            Save draft
          </Button>
          <Button
            busy={testing}
            disabled={dirty || version.setupScript.trim() === ''}
            onClick={onTestScript}
            title={
              dirty
                ? 'Save the draft first'
                : version.setupScript.trim() === ''
                  ? 'Write a setup script first'
                  : undefined
            }
          >
            Test setup script
          </Button>
          {dirty && <span className="muted small">Unsaved changes</span>}
        </div>
      )}
    </form>
  );
}
