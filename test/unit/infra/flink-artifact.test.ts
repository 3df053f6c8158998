// infra/plugins/flink-artifact.cjs with a stand-in framework: what it sets in the template at package
// time, what it uploads during deploy, and how it refuses. (test/infra packages with the real osls.)
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

interface Plugin {
  hooks: Record<string, () => Promise<unknown> | unknown>;
  s3Client?: { send: (command: { constructor: { name: string }; input: Record<string, unknown> }) => Promise<unknown> };
  packageJar(): Promise<void>;
  uploadJar(): Promise<{ uploaded: boolean; bucket: string; key: string } | undefined>;
}
type PluginClass = (new (serverless: unknown, options: unknown, utils: unknown) => Plugin) & {
  isStale(jar: string, inputs: string[]): boolean;
  PLACEHOLDER_KEY: string;
};
const FlinkArtifactPlugin = createRequire(import.meta.url)('../../../infra/plugins/flink-artifact.cjs') as PluginClass;

let dir = '';
const warnings: string[] = [];

/** A service dir with analytics/flink (pom, a source, a jar) and the framework's compiled template. */
async function setup(mode: string, { jarContent = 'PK jar bytes' } = {}) {
  const project = join(dir, 'analytics', 'flink');
  await mkdir(join(project, 'src', 'main'), { recursive: true });
  await mkdir(join(project, 'target'), { recursive: true });
  await writeFile(join(project, 'pom.xml'), '<project/>');
  await writeFile(join(project, 'src', 'main', 'Job.java'), 'class Job {}');
  const jar = join(project, 'target', 'clickstream-flink-job-0.1.0.jar');
  await writeFile(jar, jarContent);
  const later = new Date(Date.now() + 60_000);
  await utimes(jar, later, later);
  const template = {
    Parameters: { FlinkJarKey: { Type: 'String', Default: FlinkArtifactPlugin.PLACEHOLDER_KEY } },
    Resources: {
      FlinkApplication: {
        Type: 'AWS::KinesisAnalyticsV2::Application',
        Properties: {
          ApplicationName: 'clickstream-dev-analytics',
          ApplicationConfiguration: { ApplicationCodeConfiguration: { CodeContent: { S3ContentLocation: { BucketARN: 'x', FileKey: { Ref: 'FlinkJarKey' } } } } },
        },
      },
    },
  };
  const serverless = {
    serviceDir: dir,
    classes: { Error },
    service: { custom: { flinkArtifact: { mode } }, provider: { compiledCloudFormationTemplate: template } },
    getProvider: () => ({ getServerlessDeploymentBucketName: async () => 'deployment-bucket', getAwsSdkV3Config: async () => ({ region: 'us-east-1' }) }),
  };
  const plugin = new FlinkArtifactPlugin(serverless, {}, { log: { info: () => undefined, notice: () => undefined, warning: (m: string) => warnings.push(m) } });
  return { plugin, template, jar, sha256: createHash('sha256').update(jarContent).digest('hex') };
}

/** A stand-in S3 client: HeadObject answers from `existing`, PutObject records the key. */
function fakeS3(existing: Set<string>) {
  const puts: Record<string, unknown>[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (command.constructor.name === 'HeadObjectCommand') {
        if (existing.has(command.input.Key as string)) return {};
        throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
      }
      puts.push(command.input);
      return {};
    },
  };
  return { client, puts };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flink-artifact-'));
  warnings.length = 0;
});
afterEach(async () => {
  delete process.env.MVN;
  await rm(dir, { recursive: true, force: true });
});

describe('flink-artifact plugin', () => {
  it('hooks after the framework merged resources (package) and after it uploaded its artifacts (deploy)', async () => {
    const { plugin } = await setup('prebuilt');
    expect(Object.keys(plugin.hooks)).toEqual(['after:aws:package:finalize:mergeCustomProviderResources', 'after:aws:deploy:deploy:uploadArtifacts', 'after:deploy:deploy']);
  });

  it('sets the content-addressed key of the jar and packages the jar with a manifest', async () => {
    const { plugin, template, sha256 } = await setup('prebuilt');
    await plugin.packageJar();
    const key = `flink/clickstream-flink-job-${sha256}.jar`;
    expect(template.Parameters.FlinkJarKey.Default).toBe(key);
    expect(JSON.parse(await readFile(join(dir, '.serverless', 'flink-artifact.json'), 'utf8'))).toMatchObject({ mode: 'prebuilt', key, sha256, file: 'clickstream-flink-job.jar' });
    expect(await readFile(join(dir, '.serverless', 'clickstream-flink-job.jar'), 'utf8')).toBe('PK jar bytes');
  });

  it('uploads a new jar under its key, and does not upload an unchanged one again', async () => {
    const { plugin, sha256 } = await setup('prebuilt');
    await plugin.packageJar();
    const key = `flink/clickstream-flink-job-${sha256}.jar`;
    const fresh = fakeS3(new Set());
    plugin.s3Client = fresh.client;
    expect(await plugin.uploadJar()).toEqual({ uploaded: true, bucket: 'deployment-bucket', key });
    expect(fresh.puts).toEqual([expect.objectContaining({ Bucket: 'deployment-bucket', Key: key, Metadata: { sha256 } })]);
    const again = fakeS3(new Set([key]));
    plugin.s3Client = again.client;
    expect(await plugin.uploadJar()).toEqual({ uploaded: false, bucket: 'deployment-bucket', key });
    expect(again.puts).toEqual([]);
  });

  it('refuses to deploy a jar that changed since it was packaged', async () => {
    const { plugin } = await setup('prebuilt');
    await plugin.packageJar();
    await writeFile(join(dir, '.serverless', 'clickstream-flink-job.jar'), 'tampered');
    plugin.s3Client = fakeS3(new Set()).client;
    await expect(plugin.uploadJar()).rejects.toThrow(/changed since it was packaged/);
  });

  it('packages without the jar on skip, with a warning, and then refuses to deploy', async () => {
    const { plugin, template } = await setup('skip');
    await plugin.packageJar();
    expect(template.Parameters.FlinkJarKey.Default).toBe(FlinkArtifactPlugin.PLACEHOLDER_KEY);
    expect(warnings.join('\n')).toMatch(/flinkJar=skip.*NO Flink job jar/);
    await expect(plugin.uploadJar()).rejects.toThrow(/flinkJar=skip and has no Flink job jar/);
  });

  it('builds a stale jar with Maven, and says what to do when Maven cannot run', async () => {
    const { plugin, jar } = await setup('build');
    const past = new Date(Date.now() - 3_600_000);
    await utimes(jar, past, past);
    expect(FlinkArtifactPlugin.isStale(jar, [join(dir, 'analytics', 'flink', 'src', 'main')])).toBe(true);
    process.env.MVN = join(dir, 'no-such-mvn');
    await expect(plugin.packageJar()).rejects.toThrow(/older than its sources and Maven cannot run.*--param flinkJar=skip/s);
  });

  it('uses a jar newer than its sources without running Maven', async () => {
    const { plugin, template } = await setup('build');
    process.env.MVN = join(dir, 'no-such-mvn'); // would fail if called
    await plugin.packageJar();
    expect(template.Parameters.FlinkJarKey.Default).toMatch(/^flink\/clickstream-flink-job-[0-9a-f]{64}\.jar$/);
  });

  it('rejects an unknown mode and a template whose application does not read the key parameter', async () => {
    await expect((await setup('sometimes')).plugin.packageJar()).rejects.toThrow(/build, prebuilt, skip/);
    const { plugin, template } = await setup('prebuilt');
    (template.Resources.FlinkApplication.Properties.ApplicationConfiguration.ApplicationCodeConfiguration.CodeContent.S3ContentLocation as { FileKey: unknown }).FileKey = 'flink/job.jar';
    await expect(plugin.packageJar()).rejects.toThrow(/FileKey must be !Ref FlinkJarKey/);
  });
});
