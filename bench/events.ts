// Realistic Segment events for benchmarks: browser page views and tracks with full context.
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
];
const PAGES = ['/', '/pricing', '/docs/getting-started', '/blog/real-time-analytics', '/signup', '/checkout'];

export function demoEvents(count: number, { withMessageId = true, users = 1_000 } = {}): Record<string, unknown>[] {
  const start = Date.parse('2026-11-22T10:00:00.000Z');
  return Array.from({ length: count }, (_, i) => {
    const path = PAGES[i % PAGES.length]!;
    const isPage = i % 3 !== 0;
    return {
      type: isPage ? 'page' : 'track',
      ...(isPage ? { name: path } : { event: 'CTA Clicked', properties: { button: 'start-trial', position: i % 4 } }),
      ...(withMessageId ? { messageId: `bench-${i.toString(36)}-${'0'.repeat(20)}` } : {}),
      anonymousId: `anon-${(i * 7919) % users}`,
      ...(i % 5 === 0 ? { userId: `user-${i % users}` } : {}),
      timestamp: new Date(start + i * 250).toISOString(),
      context: {
        userAgent: USER_AGENTS[i % USER_AGENTS.length],
        locale: 'en-US',
        timezone: 'Europe/Berlin',
        page: { url: `https://www.example.com${path}?utm_source=newsletter&utm_medium=email`, path, referrer: 'https://www.google.com/', title: `Example ${path}` },
        library: { name: 'analytics.js', version: '5.2.0' },
        screen: { width: 1920, height: 1080 },
      },
      ...(isPage ? { properties: { url: `https://www.example.com${path}`, path, title: `Example ${path}` } } : {}),
    };
  });
}
