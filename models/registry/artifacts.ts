/** Moving model packages between a directory and MLflow's artifact store, and resolving registry references to a local copy. */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PeregrineError } from '../../core/errors.ts';
import type { MlflowClient, ModelVersion, Run } from '../../core/mlflow.ts';
import { MANIFEST_FILE } from '../package/index.ts';
import { isModelUri, modelCacheDir, parseModelUri } from './uri.ts';

/** Uploads every file under `dir` to `<prefix>/<relative path>` of the run; returns the relative paths. */
export async function uploadDirectory(client: MlflowClient, run: Run, dir: string, prefix: string): Promise<string[]> {
  const files = await listFiles(dir);
  // The manifest last: a complete upload is one with a manifest.
  files.sort((a, b) => Number(a === MANIFEST_FILE) - Number(b === MANIFEST_FILE));
  for (const rel of files) await client.uploadArtifact(run, `${prefix}/${rel}`, await readFile(path.join(dir, rel)));
  return files;
}

async function listFiles(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/** The version a reference names; a clear error when the model, version or alias does not exist. */
export async function resolveModelVersion(client: MlflowClient, spec: string): Promise<ModelVersion> {
  const ref = parseModelUri(spec);
  const version = 'alias' in ref ? await client.getModelVersionByAlias(ref.name, ref.alias) : await client.getModelVersion(ref.name, ref.version);
  if (!version) {
    const model = await client.getRegisteredModel(ref.name);
    if (!model) throw new PeregrineError(`${spec}: no registered model "${ref.name}" in MLflow at ${client.url}`);
    throw new PeregrineError(`${spec}: model "${ref.name}" has no ${'alias' in ref ? `alias "${ref.alias}"` : `version ${ref.version}`} in MLflow at ${client.url}`);
  }
  return version;
}

/**
 * A local copy of a registered version's package, downloaded once into the cache
 * (<cache>/<name>/<version>-<run id>); a copy counts only when it is complete (written to a temp dir, then renamed).
 */
export async function downloadModelVersion(client: MlflowClient, version: ModelVersion, cacheDir = modelCacheDir()): Promise<string> {
  const dir = path.join(cacheDir, encodeURIComponent(version.name), `${version.version}-${(version.run_id ?? 'norun').slice(0, 12)}`);
  if (await exists(path.join(dir, MANIFEST_FILE))) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    const walk = async (rel: string): Promise<void> => {
      for (const file of await client.listArtifactsAt(version.source, rel)) {
        const child = rel ? `${rel}/${path.posix.basename(file.path)}` : path.posix.basename(file.path);
        if (file.is_dir) await walk(child);
        else {
          const target = path.join(tmp, ...child.split('/'));
          await mkdir(path.dirname(target), { recursive: true });
          await writeFile(target, await client.downloadArtifactAt(version.source, child));
        }
      }
    };
    await walk('');
    if (!(await exists(path.join(tmp, MANIFEST_FILE)))) {
      throw new PeregrineError(`model ${version.name} version ${version.version}: no ${MANIFEST_FILE} at ${version.source} (not a Peregrine model package)`);
    }
    await mkdir(path.dirname(dir), { recursive: true });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return dir;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

/** A model directory, or `models:/NAME@ALIAS` / `models:/NAME/VERSION` downloaded from MLflow. */
export async function resolveModelDir(spec: string, client: () => MlflowClient, cacheDir?: string): Promise<{ dir: string; version?: ModelVersion }> {
  if (!isModelUri(spec)) return { dir: spec };
  const c = client();
  const version = await resolveModelVersion(c, spec);
  return { dir: await downloadModelVersion(c, version, cacheDir), version };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
