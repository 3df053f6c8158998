// What SDKs fetch before they send anything, answered by ingest so that no SDK needs Segment's CDN or a
// RudderStack control plane:
// - Segment's project settings (`<cdn>/v1/projects/<writeKey>/settings`): analytics.js 2.0 with `cdnURL`,
//   and the mobile SDKs with `cdnHost`, which always fetch them and take `Segment.io.apiHost` from them
//   (analytics-kotlin even falls back to api.segment.io when the fetch fails);
// - RudderStack's source config (`<configUrl>/sourceConfig`): the browser SDK with `configUrl`; the v1
//   mobile SDKs do not upload at all until a config with an enabled source has been loaded.
// Both name this API as the one to send to, and switch off everything else the SDKs would load.

export interface SettingsRequestFacts {
  writeKey: string;
  /** The host the request came to (a custom domain or the API's own), which the SDK should send to. */
  host: string;
  /** `https` on AWS; `http` on the local stack. */
  protocol: string;
}

/** Segment's settings document: only the Segment.io destination (this API), no device-mode destinations. */
export function segmentSettings({ writeKey, host, protocol }: SettingsRequestFacts): Record<string, unknown> {
  const allEnabled = { __default: { enabled: true, integrations: {} } };
  return {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost: `${host}/v1`,
        protocol, // analytics.js reads it; the mobile SDKs always use https
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
      },
    },
    plan: { track: allEnabled, identify: allEnabled, group: allEnabled },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    // analytics.js would post its own usage metrics to <apiHost>/m, which is no event.
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}

/** RudderStack's source config: an enabled source with no destinations (events go to the data plane only). */
export function rudderSourceConfig({ writeKey }: Pick<SettingsRequestFacts, 'writeKey'>): Record<string, unknown> {
  return {
    isHosted: false,
    source: {
      id: 'clickstream',
      name: 'clickstream',
      writeKey,
      enabled: true,
      workspaceId: 'clickstream',
      updatedAt: '2026-11-30T00:00:00.000Z',
      config: { statsCollection: { errors: { enabled: false }, metrics: { enabled: false } } },
      destinations: [],
    },
  };
}
