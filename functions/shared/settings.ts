// Reading a function's settings from its environment, checked once at cold start.
import { ConfigError } from './errors.js';

/**
 * The first of `names` that is set (trimmed), else ConfigError: "A must be set", "A (or B) must be set",
 * followed by `why` when given (e.g. " (ALERT_PUBLISHER=sns)").
 */
export function requiredSetting(env: NodeJS.ProcessEnv, names: string | readonly string[], why = ''): string {
  const list = typeof names === 'string' ? [names] : names;
  for (const name of list) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  throw new ConfigError(`${list.join(' (or ')}${list.length > 1 ? ')' : ''} must be set${why}`);
}
