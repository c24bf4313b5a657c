/**
 * A small command-line parser: positionals and `--flag value` / `--flag=value` pairs. A flag named
 * in `booleans` takes no separate value (`--force`, `--no-compile`, or `--compile=false`); `-n 64`
 * and `-h` are short forms. Each command then checks the flags it got against the ones it knows,
 * so a typo is an error that lists the valid options, never silently ignored.
 */

/** Wrong or missing command-line arguments; the CLI prints the message and exits with 1. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface ParsedArgs {
  positionals: string[];
  /** Flag name (without dashes) → its text, in command-line order. Booleans are "true"/"false". */
  flags: Map<string, string>;
}

const SHORT: Readonly<Record<string, string>> = { n: "n", h: "help" };

/**
 * Splits argv into positionals and flags.
 * @param booleans flag names that take no separate value.
 * @throws UsageError for a flag given twice or missing its value.
 */
export function parseArgv(argv: readonly string[], booleans: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string>();
  const set = (name: string, value: string) => {
    if (flags.has(name)) throw new UsageError(`--${name} was given twice`);
    flags.set(name, value);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const long = /^--([^=]+)(?:=(.*))?$/s.exec(a);
    const short = /^-([a-zA-Z])$/.exec(a);
    if (!long && !short) {
      positionals.push(a);
      continue;
    }
    let name = long ? long[1]! : SHORT[short![1]!] ?? short![1]!;
    const inline = long?.[2];
    if (booleans.has(name)) {
      set(name, inline ?? "true");
      continue;
    }
    if (name.startsWith("no-") && booleans.has(name.slice(3)) && inline === undefined) {
      set(name.slice(3), "false");
      continue;
    }
    if (inline !== undefined) {
      set(name, inline);
      continue;
    }
    const next = argv[i + 1];
    // a negative number is a value, not a flag
    if (next === undefined || (next.startsWith("-") && !/^-\d/.test(next))) throw new UsageError(`--${name} needs a value`);
    set(name, next);
    i++;
  }
  return { positionals, flags };
}

/** Parses a flag's text as a finite number (optionally an integer ≥ min). */
export function numberFlag(args: ParsedArgs, name: string, opts: { int?: boolean; min?: number; gt?: number } = {}): number | undefined {
  const text = args.flags.get(name);
  if (text === undefined) return undefined;
  const v = Number(text);
  const what = opts.int ? "an integer" : "a number";
  if (text.trim() === "" || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) throw new UsageError(`--${name}: expected ${what}, got '${text}'`);
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`--${name}: must be ≥ ${opts.min}, got ${v}`);
  if (opts.gt !== undefined && !(v > opts.gt)) throw new UsageError(`--${name}: must be > ${opts.gt}, got ${v}`);
  return v;
}

/** A boolean flag's value (absent → false). */
export function boolFlag(args: ParsedArgs, name: string): boolean {
  const t = args.flags.get(name);
  if (t === undefined) return false;
  if (["true", "1", "yes"].includes(t)) return true;
  if (["false", "0", "no"].includes(t)) return false;
  throw new UsageError(`--${name}: expected true or false, got '${t}'`);
}

/** A string flag restricted to `choices`. */
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T | undefined {
  const t = args.flags.get(name);
  if (t === undefined) return undefined;
  if (!(choices as readonly string[]).includes(t)) throw new UsageError(`--${name}: expected one of ${choices.join(", ")}, got '${t}'`);
  return t as T;
}

/** Refuses flags outside `known` (a typo must not be ignored), listing the valid ones. */
export function checkFlags(args: ParsedArgs, command: string, known: readonly string[]): void {
  const bad = [...args.flags.keys()].filter((k) => !known.includes(k));
  if (bad.length) throw new UsageError(`unknown option${bad.length > 1 ? "s" : ""} ${bad.map((b) => `--${b}`).join(", ")} for '${command}' (options: ${known.map((k) => `--${k}`).join(", ")}; see --help)`);
}
