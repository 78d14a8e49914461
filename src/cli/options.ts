// The faceinv command table's machinery: each command declares its options once (one row per option: name,
// type, range, default text, help), and parsing, validation and `--help` all come from that declaration.
// Tokenising is Node's util.parseArgs; what it leaves lenient (a value-taking option swallowing the next
// flag, empty values, numbers, ranges, repeats, positionals, options that would be ignored) is checked here,
// so every command refuses careless input the same way: one line, a UsageError (exit 2).
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export interface OptionSpec {
  name: string;
  /** flag: no value; string: any non-empty text; int / number: checked against the bounds below. */
  type: 'flag' | 'string' | 'int' | 'number';
  /** Placeholder of the value in --help (default by type). */
  arg?: string;
  help: string;
  /** Inclusive bounds; `above` is an exclusive lower bound. */
  min?: number;
  max?: number;
  above?: number;
  /** The allowed values, and what one is called in the error (`'slow' is not a preset (paper, fast)`). */
  choices?: readonly string[];
  choiceName?: string;
  /** May be given several times (every value is kept, in order). */
  repeat?: boolean;
  /** The option takes effect only with this other option: refused without it rather than ignored. */
  needs?: string;
  /** A further check of the value: an error text, or null when it is fine. */
  check?: (value: string) => string | null;
  /**
   * What the option does to the command's settings, given the checked value (a number for int / number, the
   * text for string, true for a flag): an option with a plain effect is declared in this one row, and the
   * command applies every given option's `set` in table order (applyOptions).
   */
  set?: (settings: never, value: never) => void;
}

/** The value of a given option as its `set` takes it. */
export type OptionValue = number | string | true;

/** Applies, in table order, the `set` of every option given (those without `set` are the command's to handle). */
export function applyOptions<S>(rows: readonly (OptionSpec | HelpHeading)[], opt: Parsed['opt'], settings: S): void {
  for (const o of rows) {
    if (!('name' in o) || !o.set || opt[o.name] === undefined) continue;
    const v = opt[o.name];
    const value: OptionValue = o.type === 'int' || o.type === 'number' ? Number(v) : v;
    (o.set as (s: S, v: OptionValue) => void)(settings, value);
  }
}

/** A help heading between option rows. */
export interface HelpHeading {
  heading: string;
}

export interface CommandSpec {
  name: string;
  /** One line for `faceinv help`. */
  summary: string;
  /** The usage line(s), without 'Usage: '. */
  usage: string;
  /** What the command does: a paragraph for --help. */
  about: string;
  options: (OptionSpec | HelpHeading)[];
  /** Options that must be given (each alone, or one of a group given as 'a|b'). */
  required?: string[];
  /** Positional arguments: their name in messages and how many are allowed. */
  positionals?: { name: string; min: number; max: number };
}

export interface Parsed {
  pos: string[];
  /** The value of each option given (true for flags). */
  opt: Record<string, string | true>;
  /** Every value of each option given, in order (repeatable ones). */
  all: Record<string, string[]>;
}

export const optionsOf = (spec: CommandSpec): OptionSpec[] => spec.options.filter((o): o is OptionSpec => 'name' in o);

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The error text for a value of an option, or null when the value is valid. */
export function checkValue(o: OptionSpec, v: string): string | null {
  const bad = `--${o.name}: '${v}'`;
  if (v.trim() === '') return `--${o.name} needs a value, got an empty one`;
  if (o.choices && !o.choices.includes(v)) return `${bad} is not ${o.choiceName ?? 'one of'} (${o.choices.join(', ')})`;
  if (o.type === 'int' || o.type === 'number') {
    if (!NUMBER.test(v.trim())) return `${bad} is not a number`;
    const n = Number(v);
    if (!Number.isFinite(n)) return `${bad} is not a finite number`;
    if (o.type === 'int' && !Number.isInteger(n)) return `${bad} is not a whole number`;
    const range = rangeText(o);
    if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max) || (o.above !== undefined && !(n > o.above))) return `${bad} is out of range (${range})`;
    if (o.type === 'int' && !Number.isSafeInteger(n)) return `${bad} is too large`;
  }
  return o.check ? o.check(v) : null;
}

function rangeText(o: OptionSpec): string {
  if (o.min !== undefined && o.max !== undefined) return `${o.min}..${o.max}`;
  const lo = o.above !== undefined ? `> ${o.above}` : o.min !== undefined ? `≥ ${o.min}` : '';
  const hi = o.max !== undefined ? `≤ ${o.max}` : '';
  return [lo, hi].filter(Boolean).join(' and ') || 'any';
}

/** Parses a command's arguments against its declaration; throws a one-line UsageError on anything careless. */
export function parseCommand(spec: CommandSpec, args: string[]): Parsed {
  const rows = optionsOf(spec);
  const byName = new Map(rows.map((o) => [o.name, o]));
  const see = `see 'faceinv ${spec.name} --help'`;
  const { tokens } = parseArgs({
    args,
    options: Object.fromEntries(rows.map((o) => [o.name, { type: o.type === 'flag' ? 'boolean' : 'string', multiple: false }] as const)),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const pos: string[] = [];
  const opt: Record<string, string | true> = {};
  const all: Record<string, string[]> = {};
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      pos.push(t.value);
      continue;
    }
    const o = byName.get(t.name);
    if (!o) throw new UsageError(`${spec.name}: unknown option ${t.rawName} (${see})`);
    if (o.type === 'flag') {
      if (t.value !== undefined) throw new UsageError(`${spec.name}: ${t.rawName} takes no value, got '${t.value}'`);
      opt[o.name] = true;
      continue;
    }
    const v = t.value;
    if (v === undefined) throw new UsageError(`${spec.name}: ${t.rawName} needs a value`);
    // A following option is not a value (a negative number is; a value starting with '-' can be given as --x=-y).
    if (!t.inlineValue && v.startsWith('-') && !((o.type === 'int' || o.type === 'number') && NUMBER.test(v))) {
      throw new UsageError(`${spec.name}: ${t.rawName} needs a value, got the option '${v}' (write ${t.rawName}=${v} if that is the value)`);
    }
    if (opt[o.name] !== undefined && !o.repeat) throw new UsageError(`${spec.name}: ${t.rawName} is given twice (it takes one value)`);
    const err = checkValue(o, v);
    if (err) throw new UsageError(`${spec.name}: ${err}`);
    opt[o.name] = v;
    (all[o.name] ??= []).push(v);
  }
  const p = spec.positionals ?? { name: 'argument', min: 0, max: 0 };
  if (pos.length > p.max) {
    const extra = pos[p.max];
    throw new UsageError(p.max === 0 ? `${spec.name}: unexpected argument '${extra}' (it takes options only; ${see})` : `${spec.name}: unexpected argument '${extra}' (at most ${p.max} ${p.name}s)`);
  }
  if (pos.length < p.min) throw new UsageError(`${spec.name} needs ${p.min === p.max ? p.min : `at least ${p.min}`} ${p.name}${p.min > 1 ? 's' : ''} (${see})`);
  for (const need of spec.required ?? []) {
    const names = need.split('|');
    if (!names.some((n) => opt[n] !== undefined)) {
      const list = (spec.required ?? []).map((r) => r.split('|').map((n) => `--${n}`).join(' or '));
      throw new UsageError(`${spec.name} needs ${list.length > 1 ? list.slice(0, -1).join(', ') + ' and ' + list.at(-1) : list[0]} (${see})`);
    }
  }
  for (const o of rows) {
    if (o.needs && opt[o.name] !== undefined && opt[o.needs] === undefined) throw new UsageError(`${spec.name}: --${o.name} takes effect only with --${o.needs}; give both or neither`);
  }
  return { pos, opt, all };
}

/** True when the arguments ask for help (then nothing else about them matters). */
export const wantsHelp = (args: string[]): boolean => {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

const COLUMN = 24;

/** `faceinv <command> --help`, generated from the declaration. */
export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage.split('\n').join('\n       ')}`, '', spec.about.trim(), ''];
  for (const o of spec.options) {
    if ('heading' in o) {
      lines.push('', o.heading);
      continue;
    }
    const arg = o.type === 'flag' ? '' : ` ${o.arg ?? (o.choices ? o.choices.join('|') : o.type === 'int' ? 'N' : o.type === 'number' ? 'X' : 'F')}`;
    const left = `  --${o.name}${arg}`;
    const [first, ...rest] = o.help.split('\n');
    lines.push(left.length < COLUMN ? left.padEnd(COLUMN) + first : `${left}\n${' '.repeat(COLUMN)}${first}`);
    for (const r of rest) lines.push(' '.repeat(COLUMN) + r);
  }
  lines.push('  --help                this text');
  return lines.join('\n') + '\n';
}
