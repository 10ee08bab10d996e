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

  /** Saves run one after another: two overlapping writes of one file could land out of order. */
  private saving: Promise<void> = Promise.resolve();

  /** Opens the journal at `path`, or an empty one (written on the first change) if none exists. */
  static async open(path: string): Promise<Journal> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Journal(path, emptyDoc(), false);
      throw new ClusterLabError('JOURNAL_UNREADABLE', `the journal ${path} cannot be read: ${(error as Error).message}`, {
        hint: 'run cluster-lab as root, or check the permissions of the state directory',
        cause: error,
      });
    }
    let doc: JournalDocument;
    try {
      doc = JSON.parse(text) as JournalDocument;
      if (doc === null || typeof doc !== 'object' || doc.version !== 1 || !Array.isArray(doc.entries)) {
        throw new Error('not a version 1 journal document');
      }
      doc.facts ??= {};
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

  /** True when a change of `kind` with `key` is recorded. */
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

  /** Records the node's lifecycle status. */
  async setStatus(status: JournalStatus): Promise<void> {
    this.doc.status = status;
    await this.save();
  }

  /** Merges `facts` into the recorded facts (role, link name, …). */
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

  private save(): Promise<void> {
    const write = async () => {
      this.doc.updatedAt = new Date().toISOString();
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.path, `${JSON.stringify(this.doc, null, 2)}\n`);
      this.persisted = true;
    };
    // Chain on the previous save whether it failed or not; the caller sees its own write's outcome.
    const next = this.saving.then(write, write);
    this.saving = next.catch(() => {});
    return next;
  }
}

function emptyDoc(): JournalDocument {
  const now = new Date().toISOString();
  return { version: 1, status: 'starting', startedAt: now, updatedAt: now, facts: {}, entries: [] };
}

let tmpCounter = 0;

/**
 * Writes `path` so readers see the old or the new content, never a torn file: the content goes
 * to a temporary file in the same directory, is fsynced, and renamed over `path`; the directory
 * is fsynced too so the rename survives a power cut. Concurrent writers never share a temp file.
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  try {
    // A temp file left by a crashed earlier process with the same pid is replaced, with our mode.
    await rm(tmp, { force: true });
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}
