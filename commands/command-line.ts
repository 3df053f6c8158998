// What every command does with its command line: parse it strictly; a wrong option prints its reason and
// the usage (exit code 2), --help prints the usage (exit code 0).
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** The -h / --help option every command takes. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h', default: false } } as const;

/** The parsed command line, or the exit code once the usage is printed (`config.options` should include HELP_OPTION). */
export function parseCommandLine<T extends ParseArgsConfig>(config: T, usage: string, io: CliIo): { parsed: ReturnType<typeof parseArgs<T>> } | { exit: number } {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${usage}\n`);
    return { exit: 2 };
  }
  if ((parsed.values as Record<string, unknown>)['help']) {
    io.stdout(`${usage}\n`);
    return { exit: 0 };
  }
  return { parsed };
}
