// Where the local lake is on disk. s3rver keeps bucket <b> under <data dir>/s3/<b>/ and object <key> as the
// file <key>._S3rver_object (with .md5 and ._S3rver_metadata.json beside it), so DuckDB reads the lake
// straight from there: no S3 API, and no running stack needed.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The S3 emulator's directory, under the stack's data dir. */
export const S3_DATA_SUBDIR = 's3';
export const S3RVER_OBJECT_SUFFIX = '._S3rver_object';
/** The lake bucket's local name (LOCAL_RESOURCE_NAMES.LakeBucket); repeated here so the query CLI loads nothing else. */
export const DEFAULT_LAKE_BUCKET = 'lake';

export const lakeDirectory = (dataDir: string, bucket = DEFAULT_LAKE_BUCKET): string => join(resolve(dataDir), S3_DATA_SUBDIR, bucket);

export interface LakeLocation {
  dataDir: string;
  bucket: string;
  directory: string;
  /** How it was found, for messages. */
  from: '--data-dir' | 'endpoints.json' | 'default data dir';
}

/**
 * The lake of an explicit data dir; else the one a running `npm start` announced in .local/endpoints.json;
 * else the default data dir (.local/data), which is where a stopped `npm start` left it.
 */
export function findLocalLake(repositoryRoot: string, dataDir?: string): LakeLocation {
  if (dataDir) return { dataDir: resolve(dataDir), bucket: DEFAULT_LAKE_BUCKET, directory: lakeDirectory(dataDir), from: '--data-dir' };
  const endpointsFile = join(repositoryRoot, '.local', 'endpoints.json');
  if (existsSync(endpointsFile)) {
    try {
      const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as { dataDir?: unknown; lakeBucket?: unknown };
      if (typeof endpoints.dataDir === 'string') {
        const bucket = typeof endpoints.lakeBucket === 'string' ? endpoints.lakeBucket : DEFAULT_LAKE_BUCKET;
        return { dataDir: endpoints.dataDir, bucket, directory: lakeDirectory(endpoints.dataDir, bucket), from: 'endpoints.json' };
      }
    } catch {
      // A half-written or stale file: fall back to the default data dir.
    }
  }
  const fallback = join(repositoryRoot, '.local', 'data');
  return { dataDir: fallback, bucket: DEFAULT_LAKE_BUCKET, directory: lakeDirectory(fallback), from: 'default data dir' };
}
