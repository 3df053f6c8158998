// Size of each function's deployment bundle, built the way serverless-esbuild builds it (minified),
// once with the AWS SDK bundled (what we deploy) and once with it left out (what our own code costs).
import { build } from 'esbuild';
import { figure, type Suite } from './harness.js';

const FUNCTIONS = { ingest: 'functions/ingest/handler.ts', enrich: 'functions/enrich/handler.ts' };

async function bundleBytes(entry: string, external: string[]): Promise<number> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    write: false,
    external,
    logLevel: 'silent',
  });
  return result.outputFiles.reduce((n, f) => n + f.contents.byteLength, 0);
}

export const bundleSize: Suite = {
  name: 'bundle-size',
  async run() {
    const figures: Record<string, ReturnType<typeof figure>> = {};
    for (const [name, entry] of Object.entries(FUNCTIONS)) {
      const withSdk = await bundleBytes(entry, []);
      const withoutSdk = await bundleBytes(entry, ['@aws-sdk/*', '@smithy/*']);
      figures[`${name}.bundle_with_sdk`] = figure(withSdk / 1024, 'KB');
      figures[`${name}.bundle_without_sdk`] = figure(withoutSdk / 1024, 'KB', { target: '< 300 KB', met: withoutSdk < 300 * 1024 });
    }
    return figures;
  },
};
