/**
 * A model package on disk: one directory holding
 *   manifest.json  what the model is (kind, feature schema fingerprint and names, scaling, calibration, training data
 *                  range, evaluation metrics, library versions) plus a sha256 of every other file, so a truncated or
 *                  edited file is caught on load;
 *   model.json + weights.bin   a TF.js layers model (optional), written through a TF.js IO handler for a directory;
 *   any further named artifacts (JSON or binary) a model kind needs beside its network.
 * Loading never throws a raw stack trace at the user: every failure is a PeregrineError that names the file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { PeregrineError } from '../../core/errors.ts';
import { tf } from '../tf.ts';
import { directoryIoHandler, MODEL_JSON, WEIGHTS_BIN } from './io-handler.ts';
import { libraryVersions } from './versions.ts';

export { directoryIoHandler, libraryVersions };

export const MANIFEST_FILE = 'manifest.json';
export const PACKAGE_FORMAT = 'peregrine-model-package';
export const PACKAGE_FORMAT_VERSION = 1;

export const ModelManifest = z.object({
  format: z.literal(PACKAGE_FORMAT),
  formatVersion: z.literal(PACKAGE_FORMAT_VERSION),
  kind: z.string().min(1),
  name: z.string().optional(),
  createdAt: z.string(),
  featureSchema: z.object({ fingerprint: z.string().min(1), names: z.array(z.string()) }),
  scaling: z.unknown().optional(),
  calibration: z.unknown().optional(),
  trainingData: z.object({
    rows: z.number().int().nonnegative(),
    source: z.string().optional(),
    from: z.string().optional(),
    to: z.string().optional(),
  }).catchall(z.unknown()),
  metrics: z.record(z.string(), z.unknown()).optional(),
  libraries: z.record(z.string(), z.string()),
  hasNetwork: z.boolean(),
  files: z.record(z.string(), z.object({ sha256: z.string(), bytes: z.number().int().nonnegative() })),
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type ModelManifest = z.infer<typeof ModelManifest>;

/** What a caller fills in; the package adds format, files, hasNetwork and library versions. */
export type ManifestInput = Omit<ModelManifest, 'format' | 'formatVersion' | 'files' | 'hasNetwork' | 'libraries'> & {
  libraries?: Record<string, string>;
};

export class ModelPackageError extends PeregrineError {
  constructor(readonly dir: string, message: string, options: { cause?: unknown } = {}) {
    super(`model package ${dir}: ${message}`, { retryable: false, cause: options.cause });
  }
}

export interface SavePackageOptions {
  manifest: ManifestInput;
  network?: tf.LayersModel;
  /** Extra files by name, e.g. { 'profiles.json': JSON text }. Names must be plain file names. */
  artifacts?: Record<string, string | Uint8Array>;
}

export async function saveModelPackage(dir: string, options: SavePackageOptions): Promise<ModelManifest> {
  await mkdir(dir, { recursive: true });
  const files: ModelManifest['files'] = {};
  const put = async (name: string, data: string | Uint8Array) => {
    if (name !== path.basename(name) || name === MANIFEST_FILE) throw new ModelPackageError(dir, `invalid artifact name ${JSON.stringify(name)}`);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    await writeAtomic(path.join(dir, name), bytes);
    files[name] = { sha256: sha256(bytes), bytes: bytes.length };
  };
  if (options.network) {
    await options.network.save(directoryIoHandler(dir));
    for (const name of [MODEL_JSON, WEIGHTS_BIN]) {
      const bytes = await readFile(path.join(dir, name));
      files[name] = { sha256: sha256(bytes), bytes: bytes.length };
    }
  }
  for (const [name, data] of Object.entries(options.artifacts ?? {})) await put(name, data);
  const manifest: ModelManifest = ModelManifest.parse({
    ...options.manifest,
    format: PACKAGE_FORMAT,
    formatVersion: PACKAGE_FORMAT_VERSION,
    libraries: { ...libraryVersions(), ...options.manifest.libraries },
    hasNetwork: Boolean(options.network),
    files,
  });
  // The manifest goes last: a directory with a manifest is a complete package.
  await writeAtomic(path.join(dir, MANIFEST_FILE), Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));
  return manifest;
}

export interface LoadPackageOptions {
  /** Refuse a package of another kind. */
  kind?: string;
  /** Refuse a package trained on another feature schema. */
  fingerprint?: string;
  /** Load the TF.js network too (default true when the package has one). */
  loadNetwork?: boolean;
}

export interface LoadedModelPackage {
  dir: string;
  manifest: ModelManifest;
  network?: tf.LayersModel;
  /** The bytes of an artifact, already checked against its sha256. */
  artifact(name: string): Buffer;
  /** An artifact parsed as JSON; a parse failure is a ModelPackageError naming the file. */
  artifactJson(name: string): unknown;
}

export async function loadModelPackage(dir: string, options: LoadPackageOptions = {}): Promise<LoadedModelPackage> {
  const manifest = await readManifest(dir);
  if (options.kind && manifest.kind !== options.kind) {
    throw new ModelPackageError(dir, `is a ${JSON.stringify(manifest.kind)} model, expected ${JSON.stringify(options.kind)}`);
  }
  if (options.fingerprint && manifest.featureSchema.fingerprint !== options.fingerprint) {
    throw new ModelPackageError(dir,
      `feature schema fingerprint mismatch: the model was trained on ${manifest.featureSchema.fingerprint}, ` +
      `this code extracts ${options.fingerprint}; retrain the model with this version`);
  }
  const contents = new Map<string, Buffer>();
  for (const [name, expected] of Object.entries(manifest.files)) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(dir, name));
    } catch (error) {
      throw new ModelPackageError(dir, `missing file ${name} listed in ${MANIFEST_FILE}`, { cause: error });
    }
    if (bytes.length !== expected.bytes || sha256(bytes) !== expected.sha256) {
      throw new ModelPackageError(dir, `file ${name} is corrupt (size or sha256 differs from ${MANIFEST_FILE})`);
    }
    contents.set(name, bytes);
  }
  let network: tf.LayersModel | undefined;
  if (manifest.hasNetwork && options.loadNetwork !== false) {
    try {
      network = await tf.loadLayersModel(directoryIoHandler(dir));
    } catch (error) {
      throw new ModelPackageError(dir, `the TF.js model cannot be loaded: ${(error as Error).message}`, { cause: error });
    }
  }
  const artifact = (name: string): Buffer => {
    const bytes = contents.get(name);
    if (!bytes) throw new ModelPackageError(dir, `has no artifact ${name}`);
    return bytes;
  };
  return {
    dir, manifest, network, artifact,
    artifactJson(name) {
      try {
        return JSON.parse(artifact(name).toString('utf8'));
      } catch (error) {
        if (error instanceof ModelPackageError) throw error;
        throw new ModelPackageError(dir, `artifact ${name} is not valid JSON`, { cause: error });
      }
    },
  };
}

export async function readManifest(dir: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelPackageError(dir, code === 'ENOENT' ? `no ${MANIFEST_FILE} (not a model package, or saving did not finish)` : `cannot read ${MANIFEST_FILE}: ${code}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelPackageError(dir, `${MANIFEST_FILE} is not valid JSON`, { cause: error });
  }
  const parsed = ModelManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelPackageError(dir, `${MANIFEST_FILE} is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

/** A stable fingerprint of a feature schema: what features, in what order, extracted by which version. */
export function featureFingerprint(schemaVersion: string, names: readonly string[]): string {
  return 'sha256:' + sha256(Buffer.from(JSON.stringify({ schemaVersion, names }))).slice(0, 32);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function writeAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}
