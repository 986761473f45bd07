/**
 * Flags of the bench, soak and fuzz commands: `--name value` or a bare `--name` (true). Given the known flags, others are
 * refused so that a typo does not silently run the default.
 */
export type Args = Record<string, string | true>;

/** `known`: the flags accepted; without it, any flag (the bench's own run takes many). */
export function parseFlags(argv: string[], known?: readonly string[]): Args {
  const args: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new TypeError(`Unexpected argument "${arg}"`);
    const name = arg.slice(2);
    if (known !== undefined && !known.includes(name)) throw new TypeError(`Unknown flag --${name} (known: ${known.map((k) => `--${k}`).join(' ')})`);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      args[name] = next;
      i++;
    } else {
      args[name] = true;
    }
  }
  return args;
}

/** A numeric flag, or `fallback` when absent; `integer` and `min` narrow what it takes (default: any number >= 0). */
export function num(args: Args, name: string, fallback: number, { integer = false, min = 0 } = {}): number {
  const value = args[name];
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value === true || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new TypeError(`--${name} takes ${integer ? 'an integer' : 'a number'} >= ${min}, got "${String(value)}"`);
  }
  return n;
}

/**
 * Runs a command's `main` when its file is the process's entry point: exits with the code it
 * resolves to, or 2 with the stack when it throws.
 */
export function runCommand(entry: NodeJS.Module, main: (argv: string[]) => Promise<number>): void {
  if (require.main !== entry) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.stack ?? err.message);
      process.exit(2);
    },
  );
}
