import type { ProfileVersion } from '@airlock/schema/api';
import { NumberField } from '../ui/field.tsx';
import { withOptional } from './form-helpers.tsx';

// The draft's sandbox resources (CPUs, memory, processes, disk), each with
// the API's error for its path.

type Resources = ProfileVersion['resources'];

export function ResourcesFields({
  value,
  errorOf,
  onChange,
}: {
  value: Resources;
  errorOf: (path: string) => string | undefined;
  onChange: (next: Resources) => void;
}) {
  return (
    <div className="grid-4">
      <NumberField
        label="CPUs"
        step={0.25}
        value={value.cpus}
        error={errorOf('resources.cpus')}
        onChange={(n) => onChange({ ...value, cpus: n ?? 0 })}
      />
      <NumberField
        label="Memory (MB)"
        value={value.memoryMb}
        error={errorOf('resources.memoryMb')}
        onChange={(n) => onChange({ ...value, memoryMb: n ?? 0 })}
      />
      <NumberField
        label="Processes"
        value={value.pids}
        error={errorOf('resources.pids')}
        onChange={(n) => onChange({ ...value, pids: n ?? 0 })}
      />
      <NumberField
        label="Disk (MB)"
        value={value.diskMb}
        error={errorOf('resources.diskMb')}
        onChange={(n) => onChange(withOptional(value, 'diskMb', n))}
      />
    </div>
  );
}
