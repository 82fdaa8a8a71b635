import { useState } from 'react';
import { Button } from './button.tsx';

/** A secret shown exactly once (API and runner tokens, webhook secrets), with a copy button. */
export function SecretOnce({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="secret-once">
      <p>
        <strong>{label}</strong> — copy it now; it is not shown again.
      </p>
      <div className="secret-row">
        <code>{value}</code>
        <Button
          onClick={() =>
            void navigator.clipboard?.writeText(value).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? 'Copied' : 'Copy'}
        </Button>
      </div>
    </div>
  );
}
