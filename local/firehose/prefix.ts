// Firehose's prefix expressions (Firehose developer guide, "Custom prefixes for Amazon S3 objects"):
// !{partitionKeyFromLambda:k}, !{timestamp:<Java pattern>}, !{firehose:error-output-type}, !{firehose:random-string}.
export class PrefixEvaluationError extends Error {
  override name = 'PrefixEvaluationError';
}

export interface PrefixValues {
  /** metadata.partitionKeys from the transform. */
  partitionKeys?: Record<string, string> | undefined;
  /** Approximate arrival of the oldest record in the object (epoch ms): what !{timestamp:…} formats. */
  timestampMs: number;
  errorOutputType?: string;
  randomString?: string;
}

const EXPRESSION = /!\{([A-Za-z]+):([^}]*)\}/g;

/** The names of the Lambda partition keys a prefix uses. */
export const lambdaPartitionKeysOf = (prefix: string): string[] =>
  [...prefix.matchAll(EXPRESSION)].filter((m) => m[1] === 'partitionKeyFromLambda').map((m) => m[2]!);

/** The prefix with its expressions evaluated; an empty prefix is Firehose's default yyyy/MM/dd/HH/. */
export function evaluatePrefix(prefix: string, values: PrefixValues): string {
  if (prefix === '') return `${formatTimestamp(values.timestampMs, 'yyyy/MM/dd/HH')}/`;
  return prefix.replace(EXPRESSION, (_, namespace: string, value: string) => {
    switch (namespace) {
      case 'partitionKeyFromLambda': {
        const key = values.partitionKeys?.[value];
        if (key === undefined || key === '') throw new PrefixEvaluationError(`partition key "${value}" is missing from the record's metadata.partitionKeys`);
        return key;
      }
      case 'timestamp':
        return formatTimestamp(values.timestampMs, value);
      case 'firehose':
        if (value === 'error-output-type' && values.errorOutputType) return values.errorOutputType;
        if (value === 'random-string' && values.randomString) return values.randomString;
        throw new PrefixEvaluationError(`!{firehose:${value}} has no value here`);
      default:
        throw new PrefixEvaluationError(`!{${namespace}:…} is not supported locally`);
    }
  });
}

/** A UTC time with the Java DateTimeFormatter letters Firehose prefixes use (y M d H m s, 'quoted text'). */
export function formatTimestamp(ms: number, pattern: string): string {
  const date = new Date(ms);
  const fields: Record<string, number> = {
    y: date.getUTCFullYear(),
    M: date.getUTCMonth() + 1,
    d: date.getUTCDate(),
    H: date.getUTCHours(),
    m: date.getUTCMinutes(),
    s: date.getUTCSeconds(),
  };
  return pattern.replace(/'([^']*)'|([A-Za-z])\2*/g, (token, quoted: string | undefined, letter: string | undefined) => {
    if (quoted !== undefined) return quoted === '' ? "'" : quoted;
    const field = fields[letter!];
    if (field === undefined) throw new PrefixEvaluationError(`timestamp pattern letter "${letter}" is not supported locally (in "${pattern}")`);
    if (letter === 'y' && token.length === 2) return String(field % 100).padStart(2, '0');
    return String(field).padStart(token.length, '0');
  });
}
