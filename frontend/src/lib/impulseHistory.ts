/** Facts about an impulse's saved versions gathered from other lists: which runs used each, which came before. */

export interface RunEntry {
  id: number;
  impulse_id: number;
  impulse_version_id: number;
  status: string;
  metrics: Record<string, unknown>;
}

export interface VersionEntry {
  id: number;
  version: number;
}

/** The training runs of each version (by version id), oldest run first. */
export function runsByVersion<R extends RunEntry>(runs: R[], impulseId: number): Map<number, R[]> {
  const byVersion = new Map<number, R[]>();
  for (const run of [...runs].sort((a, b) => a.id - b.id)) {
    if (run.impulse_id !== impulseId) continue;
    byVersion.set(run.impulse_version_id, [...(byVersion.get(run.impulse_version_id) ?? []), run]);
  }
  return byVersion;
}

/** The version saved just before `version` (versions may come in any order), or null for the first. */
export function previousVersion<V extends VersionEntry>(versions: V[], version: V): V | null {
  let best: V | null = null;
  for (const v of versions) {
    if (v.version < version.version && (!best || v.version > best.version)) best = v;
  }
  return best;
}

/** Which learning block a run trained (0-based), from the settings it records. */
export function runLearnIndex(run: RunEntry): number {
  const index = run.metrics.learn_index;
  return typeof index === "number" ? index : 0;
}
