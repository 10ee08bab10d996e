import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Name of the file, beside the hook script, that the hook appends its JSON lines to. */
export const HOOK_EVENTS_FILE = 'events.jsonl';

/**
 * The hook every client adapter calls (udhcpc `-s`, dhclient `-sf`, dhcpcd `-c`). It is a static
 * file: no value is ever interpolated into its code. It changes nothing on the system — it only
 * appends one JSON line per client event to `events.jsonl` in its own directory (derived from
 * `$0`, because dhclient and dhcpcd run hooks with a clean environment):
 * `{"event":"bound","at":1764000000,"env":{"ip":"192.168.200.101",…}}`. TypeScript reads the
 * line and applies the address itself through core's `Network`.
 *
 * Only lower-case variables are copied (the DHCP clients' own variables: `ip`, `mask`,
 * `new_ip_address`, `reason`…), so the caller's environment (PATH, tokens) never lands in the
 * file. The event is `$1` (udhcpc) or `$reason` (dhclient, dhcpcd). awk does the JSON escaping.
 */
export const HOOK_SCRIPT = `#!/bin/sh
# Written by @cluster-lab/dhcp. Static: reports DHCP client events as JSON lines, changes nothing.
case "$0" in */*) ;; *) exit 0 ;; esac
now=$(date +%s)
awk -v event="\${1:-$reason}" -v now="$now" '
function esc(s,   r, i, c) {
  r = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\\\" || c == "\\"") r = r "\\\\" c
    else if (c == "\\n") r = r "\\\\n"
    else if (c == "\\t") r = r "\\\\t"
    else if (c ~ /[[:cntrl:]]/) r = r "?"
    else r = r c
  }
  return r
}
BEGIN {
  out = "{\\"event\\":\\"" esc(event) "\\",\\"at\\":" (now + 0) ",\\"env\\":{"
  sep = ""
  for (k in ENVIRON) {
    if (k !~ /^[a-z][a-z0-9_]*$/) continue
    out = out sep "\\"" k "\\":\\"" esc(ENVIRON[k]) "\\""
    sep = ","
  }
  print out "}}"
}' >> "\${0%/*}/${HOOK_EVENTS_FILE}"
exit 0
`;

/** The events file the hook at `hookScript` writes to. */
export function hookEventsFile(hookScript: string): string {
  return join(dirname(hookScript), HOOK_EVENTS_FILE);
}

/** Writes {@link HOOK_SCRIPT} to `path` (mode 0755), creating the directory. */
export async function writeHookScript(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, HOOK_SCRIPT, { mode: 0o755 });
  await chmod(path, 0o755);
}

/** One event reported by the hook. */
export interface HookEvent {
  /** `bound`, `renew`, `deconfig`, `leasefail` (udhcpc) or `BOUND`, `RENEW`, `EXPIRE`… (dhclient, dhcpcd). */
  event: string;
  /** When the hook ran. */
  at: Date;
  /** The client's lower-case variables. */
  env: Record<string, string>;
}

/**
 * Parses the hook's JSON lines. Lines that are not complete JSON objects (a line being written
 * while we read) are skipped.
 *
 * @example
 * ```ts
 * parseHookEvents('{"event":"bound","at":1764000000,"env":{"ip":"192.168.200.101","mask":"24"}}\n');
 * ```
 */
export function parseHookEvents(text: string): HookEvent[] {
  const events: HookEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    const { event, at, env } = value as { event?: unknown; at?: unknown; env?: unknown };
    if (typeof event !== 'string' || typeof at !== 'number' || !env || typeof env !== 'object') continue;
    const strings: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (typeof v === 'string') strings[k] = v;
    events.push({ event, at: new Date(at * 1000), env: strings });
  }
  return events;
}

/** Reads and parses an events file; empty when it does not exist yet. */
export async function readHookEvents(path: string): Promise<HookEvent[]> {
  try {
    return parseHookEvents(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
