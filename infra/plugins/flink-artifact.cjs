/* global module, require, process, console */
'use strict';
// The Flink job's jar as a deploy artifact (serverless.yml `plugins:`, settings in `custom.flinkArtifact`).
//
// package (after the framework merged `resources:` into the template, before it is saved):
//   1. the jar: built with Maven when it is missing or older than the job's sources (flinkJar=build, the
//      default), taken as it is (prebuilt: CI builds it before `npm test`), or left out (skip: no Java here;
//      the template gets a placeholder key and `deploy` refuses the package);
//   2. its SHA-256 gives the content-addressed key flink/clickstream-flink-job-<sha256>.jar, set as the
//      default of the template parameter FlinkJarKey (infra/flink.yml), the one place the application and
//      its role read it from;
//   3. the jar is copied next to the function zips (.serverless/ or --package <dir>) with a manifest, so a
//      later `deploy --package <dir>` uploads exactly what was hashed.
// deploy (after the framework uploaded its own artifacts, before the stack update, so the object exists
//   when CloudFormation creates or updates the application): the jar goes to the deployment bucket under
//   its key, unless an object with that key is already there. Same code, same key: no upload and no
//   application update; the pom pins the jar's entry times (project.build.outputTimestamp) so a rebuild
//   of unchanged code gives the same bytes.
// after deploy: the one-liner that starts the application (CloudFormation leaves a new application READY).
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const MODES = ['build', 'prebuilt', 'skip'];
const MANIFEST = 'flink-artifact.json';
const PLACEHOLDER_KEY = 'set-by-infra-plugins-flink-artifact';

/** SHA-256 (hex) of a file, streamed: the jar is tens of MB. */
function sha256File(file) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** flink/clickstream-flink-job-<sha256>.jar */
const artifactKey = (prefix, name, sha256) => `${prefix}${name}-${sha256}.jar`;

/** Newest modification time (ms) of the files under `paths` (files or directories). */
function newestMtime(paths) {
  let newest = 0;
  const visit = (p) => {
    if (!existsSync(p)) return;
    const stats = statSync(p);
    if (stats.isDirectory()) for (const entry of readdirSync(p)) visit(path.join(p, entry));
    else newest = Math.max(newest, stats.mtimeMs);
  };
  paths.forEach(visit);
  return newest;
}

/** Whether the jar is missing or older than any input of the build. */
function isStale(jar, inputs) {
  return !existsSync(jar) || statSync(jar).mtimeMs < newestMtime(inputs);
}

class FlinkArtifactPlugin {
  constructor(serverless, options = {}, utils = {}) {
    this.serverless = serverless;
    this.options = options;
    this.log = utils.log ?? console;
    this.hooks = {
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.packageJar(),
      'after:aws:deploy:deploy:uploadArtifacts': () => this.uploadJar(),
      'after:deploy:deploy': () => this.printStartHint(),
    };
  }

  error(message) {
    const ServerlessError = this.serverless.classes?.Error ?? Error;
    return new ServerlessError(`flink-artifact: ${message}`);
  }

  /** custom.flinkArtifact, resolved, with paths made absolute. */
  settings() {
    const custom = this.serverless.service.custom?.flinkArtifact ?? {};
    const serviceDir = this.serverless.serviceDir ?? process.cwd();
    const mode = String(custom.mode ?? 'build').trim();
    if (!MODES.includes(mode)) throw this.error(`custom.flinkArtifact.mode (param flinkJar) must be one of ${MODES.join(', ')}, got "${mode}"`);
    const project = path.resolve(serviceDir, custom.project ?? 'analytics/flink');
    return {
      mode,
      project,
      jar: path.resolve(project, custom.jar ?? 'target/clickstream-flink-job-0.1.0.jar'),
      name: custom.name ?? 'clickstream-flink-job',
      keyPrefix: custom.keyPrefix ?? 'flink/',
      parameter: custom.parameter ?? 'FlinkJarKey',
      application: custom.application ?? 'FlinkApplication',
      workDir: path.join(serviceDir, '.serverless'),
    };
  }

  template() {
    return this.serverless.service.provider.compiledCloudFormationTemplate;
  }

  /** The template parameter that carries the key; the application must read its code from it. */
  keyParameter(s) {
    const template = this.template();
    const parameter = template.Parameters?.[s.parameter];
    const application = template.Resources?.[s.application];
    if (!parameter || !application) {
      throw this.error(`the template needs the parameter ${s.parameter} and the resource ${s.application} (infra/flink.yml)`);
    }
    const location = application.Properties?.ApplicationConfiguration?.ApplicationCodeConfiguration?.CodeContent?.S3ContentLocation;
    if (JSON.stringify(location?.FileKey) !== JSON.stringify({ Ref: s.parameter })) {
      throw this.error(`${s.application}'s S3ContentLocation.FileKey must be !Ref ${s.parameter}`);
    }
    return parameter;
  }

  buildJar(s) {
    const inputs = [path.join(s.project, 'pom.xml'), path.join(s.project, 'src', 'main')];
    if (!isStale(s.jar, inputs)) return;
    const mvn = process.env.MVN ?? 'mvn';
    const probe = spawnSync(mvn, ['-v'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw this.error(
        `the Flink job jar ${path.relative(process.cwd(), s.jar)} is ${existsSync(s.jar) ? 'older than its sources' : 'missing'} and Maven cannot run ` +
          `(${probe.error ? probe.error.message : probe.stderr.trim().split('\n')[0]}). Install Maven and a JDK >= 11, build it with ` +
          '`mvn -B -q -f analytics/flink/pom.xml package`, or package without it: --param flinkJar=skip (no analytics; deploy refuses such a package).',
      );
    }
    this.log.notice?.(`flink-artifact: building the Flink job jar (mvn package, tests skipped: CI runs them)`);
    // Unit tests are CI's job (mvn verify); here only the artifact is built.
    const build = spawnSync(mvn, ['-B', '-q', '-f', path.join(s.project, 'pom.xml'), 'package', '-DskipTests'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (build.status !== 0 || !existsSync(s.jar)) {
      throw this.error(`mvn package failed (exit ${build.status}):\n${`${build.stdout}\n${build.stderr}`.trim().slice(-4000)}`);
    }
  }

  async packageJar() {
    const s = this.settings();
    const parameter = this.keyParameter(s);
    mkdirSync(s.workDir, { recursive: true });
    if (s.mode === 'skip') {
      parameter.Default = PLACEHOLDER_KEY;
      writeFileSync(path.join(s.workDir, MANIFEST), `${JSON.stringify({ mode: 'skip' }, null, 2)}\n`);
      this.log.warning?.(
        'flink-artifact: flinkJar=skip: the package has NO Flink job jar (FlinkJarKey is a placeholder); `serverless deploy` refuses it. Build the jar and package again to deploy.',
      );
      return;
    }
    if (s.mode === 'build') this.buildJar(s);
    else if (!existsSync(s.jar)) {
      throw this.error(`flinkJar=prebuilt but ${s.jar} does not exist: run \`mvn -B -q -f analytics/flink/pom.xml package\` first`);
    }
    const sha256 = await sha256File(s.jar);
    const key = artifactKey(s.keyPrefix, s.name, sha256);
    parameter.Default = key;
    const file = `${s.name}.jar`;
    copyFileSync(s.jar, path.join(s.workDir, file));
    writeFileSync(path.join(s.workDir, MANIFEST), `${JSON.stringify({ mode: s.mode, key, sha256, file, bytes: statSync(s.jar).size }, null, 2)}\n`);
    this.log.info?.(`flink-artifact: ${path.relative(process.cwd(), s.jar)} -> ${key}`);
  }

  /** The manifest written at package time, checked against the template about to be deployed and the file. */
  async packagedJar(s) {
    const manifestFile = path.join(s.workDir, MANIFEST);
    if (!existsSync(manifestFile)) throw this.error(`${manifestFile} is missing: package with this plugin before deploying`);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    if (manifest.mode === 'skip') {
      throw this.error('this package was made with flinkJar=skip and has no Flink job jar: build the jar (mvn) and deploy without --param flinkJar=skip');
    }
    const templateKey = this.keyParameter(s).Default;
    if (templateKey !== manifest.key) throw this.error(`the template's ${s.parameter} (${templateKey}) is not the packaged jar's key (${manifest.key})`);
    const file = path.join(s.workDir, manifest.file);
    const sha256 = await sha256File(file);
    if (sha256 !== manifest.sha256) throw this.error(`${file} changed since it was packaged (sha256 ${sha256}, expected ${manifest.sha256})`);
    return { ...manifest, path: file };
  }

  async uploadJar() {
    if (this.serverless.service.provider.shouldNotDeploy) return;
    const s = this.settings();
    const jar = await this.packagedJar(s);
    const provider = this.serverless.getProvider('aws');
    const bucket = await provider.getServerlessDeploymentBucketName();
    // The project's own SDK (a dependency of the functions), configured with the framework's credentials and region.
    const { S3Client, HeadObjectCommand, PutObjectCommand } = require('@aws-sdk/client-s3');
    const s3 = this.s3Client ?? new S3Client(await provider.getAwsSdkV3Config());
    try {
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: jar.key }));
      this.log.info?.(`flink-artifact: s3://${bucket}/${jar.key} is already there (same sha256): not uploaded`);
      return { uploaded: false, bucket, key: jar.key };
    } catch (error) {
      const status = error?.$metadata?.httpStatusCode;
      if (error?.name !== 'NotFound' && status !== 404) throw error;
    }
    const encryption = this.serverless.service.provider.deploymentBucketObject?.serverSideEncryption;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: jar.key,
        Body: readFileSync(jar.path),
        ContentType: 'application/java-archive',
        Metadata: { sha256: jar.sha256 },
        ...(encryption ? { ServerSideEncryption: encryption } : {}),
      }),
    );
    this.log.notice?.(`flink-artifact: uploaded the Flink job jar to s3://${bucket}/${jar.key} (${Math.round(jar.bytes / 1048576)} MB)`);
    return { uploaded: true, bucket, key: jar.key };
  }

  printStartHint() {
    if (this.serverless.service.provider.shouldNotDeploy) return;
    const s = this.settings();
    const name = this.template().Resources?.[s.application]?.Properties?.ApplicationName;
    this.log.notice?.(
      `Flink application ${name}: a new application is READY, not running. Start it once with\n` +
        `  aws kinesisanalyticsv2 start-application --application-name ${name} --run-configuration '{}'\n` +
        'A RUNNING application keeps running through later deploys (snapshot, new code, restore).',
    );
  }
}

FlinkArtifactPlugin.sha256File = sha256File;
FlinkArtifactPlugin.artifactKey = artifactKey;
FlinkArtifactPlugin.isStale = isStale;
FlinkArtifactPlugin.PLACEHOLDER_KEY = PLACEHOLDER_KEY;
module.exports = FlinkArtifactPlugin;
