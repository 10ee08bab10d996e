import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ClusterLabError } from '../errors/cluster-lab-error.js';

/** One change made by `start` that `stop` must undo. */
export interface JournalEntry {
  /** Undo handler name, e.g. `link-created`, `address-added`, `process-started`. */
  kind: string;
  /** Identifies the change within its kind, so re-running a step records it once. */
  key: string;
  /** Step that made the change. */
  step: string;
  /** What the undo handler needs (never secrets). */
  data: Record<string, unknown>;
  at: string;
}

/** Lifecycle of the node as far as the journal knows. */
export type JournalStatus = 'starting' | 'running' | 'stopping' | 'failed';

/** The on-disk journal document. */
export interface JournalDocument {
  version: 1;
  status: JournalStatus;
  startedAt: string;
  updatedAt: string;
  /** Small facts about the run (role, cluster address, link name) for `status` and resume. */
  facts: Record<string, unknown>;
  entries: JournalEntry[];
}

/**
 * The record of every change `start` made, persisted with atomic writes (temp file + fsync +
 * rename) after each change, so a crash at any point leaves a readable journal that `stop` or
 * the next `start` can replay.
 *
 * @example
 * ```ts
 * const journal = await Journal.open('/var/lib/cluster-lab/journal.json');
 * await journal.record({ kind: 'address-added', key: 'eth0.200 192.168.200.1/24', step: 'leader-address', data: { dev: 'eth0.200', cidr: '192.168.200.1/24' } });
 * ```
 */
export class Journal {
  private constructor(
    readonly path: string,
    private doc: JournalDocument,
    private persisted: boolean,
  ) {}

  /** Opens the journal at `path`, or an empty one (written on the first change) if none exists. */
  static async open(path: string): Promise<Journal> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Journal(path, emptyDoc(), false);
      throw error;
    }
    let doc: JournalDocument;
    try {
      doc = JSON.parse(text) as JournalDocument;
      if (doc.version !== 1 || !Array.isArray(doc.entries)) throw new Error('unexpected shape');
    } catch (error) {
      throw new ClusterLabError('JOURNAL_CORRUPT', `the journal ${path} cannot be read: ${(error as Error).message}`, {
        hint: 'run `cluster-lab stop --force` to clean up by inspection instead of the journal',
        cause: error,
      });
    }
    return new Journal(path, doc, true);
  }

  /** True when a journal file exists on disk. */
  get exists(): boolean {
    return this.persisted;
  }

  get status(): JournalStatus {
    return this.doc.status;
  }

  get entries(): readonly JournalEntry[] {
    return this.doc.entries;
  }

  get facts(): Readonly<Record<string, unknown>> {
    return this.doc.facts;
  }

  has(kind: string, key: string): boolean {
    return this.doc.entries.some((e) => e.kind === kind && e.key === key);
  }

  /** Appends a change unless the same kind+key is already recorded. */
  async record(entry: Omit<JournalEntry, 'at'>): Promise<void> {
    if (this.has(entry.kind, entry.key)) return;
    this.doc.entries.push({ ...entry, at: new Date().toISOString() });
    await this.save();
  }

  /** Removes an entry after it was undone. */
  async forget(kind: string, key: string): Promise<void> {
    this.doc.entries = this.doc.entries.filter((e) => !(e.kind === kind && e.key === key));
    await this.save();
  }

  async setStatus(status: JournalStatus): Promise<void> {
    this.doc.status = status;
    await this.save();
  }

  async setFacts(facts: Record<string, unknown>): Promise<void> {
    this.doc.facts = { ...this.doc.facts, ...facts };
    await this.save();
  }

  /** Deletes the journal file (after a complete stop). */
  async delete(): Promise<void> {
    await rm(this.path, { force: true });
    this.doc = emptyDoc();
    this.persisted = false;
  }

  private async save(): Promise<void> {
    this.doc.updatedAt = new Date().toISOString();
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path, `${JSON.stringify(this.doc, null, 2)}\n`);
    this.persisted = true;
  }
}

function emptyDoc(): JournalDocument {
  const now = new Date().toISOString();
  return { version: 1, status: 'starting', startedAt: now, updatedAt: now, facts: {}, entries: [] };
}

/** Writes `path` so readers see the old or the new content, never a torn file. */
export async function writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}
