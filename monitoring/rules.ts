// Where the Prometheus rule files live and what they define, so the rendered prometheus.yml, the
// promtool tests and a live-Prometheus test all walk the same list instead of repeating it.
import fs from 'node:fs';
import path from 'node:path';

export const RULES_DIR = path.join(__dirname, 'rules');

/** The rule files prometheus.yml loads, relative to RULES_DIR. */
export const RULE_FILES: readonly string[] = ['recording.yml', 'alerts.yml'];

// The rule files are ours and keep one `- record:` / `- alert:` per line, so a line match is
// enough and spares a YAML dependency; the promtool test cross-checks the count it reports.
function namesAfter(key: 'record' | 'alert', file: string): string[] {
  const text = fs.readFileSync(path.join(RULES_DIR, file), 'utf8');
  const pattern = new RegExp(`^\\s*-\\s*${key}:\\s*(\\S+)\\s*$`, 'gm');
  return [...text.matchAll(pattern)].map((match) => match[1] as string);
}

/** Names of the series recording.yml records, in file order. */
export function recordingRuleNames(): string[] {
  return namesAfter('record', 'recording.yml');
}

/** Names of the alerts alerts.yml defines, in file order. */
export function alertNames(): string[] {
  return namesAfter('alert', 'alerts.yml');
}
