// The CLI's declarative option parser (src/cli/options.ts) over every command of the table: random argument
// vectors built from each command's own options (and careless variations of them) end either in a parsed
// configuration that honours the declaration, or in a one-line usage error, never in anything else.
import { describe, it, expect } from 'vitest';
import { COMMANDS } from '../src/cli/commands.ts';
import { parseCommand, checkValue, helpText, optionsOf, UsageError, type OptionSpec, type Parsed } from '../src/cli/options.ts';
import { Rng } from '../src/tensor/random.ts';
import { cli } from './helpers/cli.ts';

/** A valid value of each string option whose value has a form of its own (an S,K,R jitter option: '4,0.05,3'). */
const VALID: Record<string, string> = { values: '0.1,1', contrast: '30,0.2', 'face-contrast': '30,0.17', 'lap-weights': '0.5,0.7' };

/** Values a user might type for an option, valid and not. */
function valueFor(o: OptionSpec, r: Rng): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r.next() * xs.length)];
  const good = o.choices ? pick([...o.choices]) : o.type === 'int' ? String(Math.max(o.min ?? 0, Math.ceil(o.above ?? 0) + 1)) : o.type === 'number' ? '0.5' : 'file.png';
  return pick([good, good, '', ' ', '-1', '-0.5', '1e300', '1e-400', 'NaN', 'Infinity', '0x10', '3.5', '12abc', 'abc', '--out', '-x', '4,0.05,3', 'a.json:2', '0', '2', '9'.repeat(40)]);
}

function randomArgs(spec: (typeof COMMANDS)[number]['spec'], r: Rng): string[] {
  const rows = optionsOf(spec);
  const pick = <T>(xs: T[]) => xs[Math.floor(r.next() * xs.length)];
  const args: string[] = [];
  const n = Math.floor(r.next() * 8);
  for (let i = 0; i < n; i++) {
    // A command without options (annotate) gets only stray arguments.
    if (!rows.length) {
      args.push(pick(['stray.png', '--frobnicate', '-v', '--', '-', 'x=1', 'faceinv.mean=[1,2,3]']));
      continue;
    }
    const o = pick(rows);
    const k = r.next();
    if (k < 0.45) args.push(`--${o.name}`, valueFor(o, r));
    else if (k < 0.6) args.push(`--${o.name}=${valueFor(o, r)}`);
    else if (k < 0.72) args.push(`--${o.name}`);
    else if (k < 0.8) args.push(pick(['stray.png', '--frobnicate', '-v', '--', '-', '--=x', '---out', 'x=1']));
    else args.push(`--${o.name}`, valueFor(o, r), `--${pick(rows).name}`, valueFor(o, r));
  }
  return args;
}

/** What a parsed configuration must satisfy: only declared options, valid values, required ones present. */
function honours(spec: (typeof COMMANDS)[number]['spec'], p: Parsed): void {
  const rows = new Map(optionsOf(spec).map((o) => [o.name, o]));
  for (const [name, v] of Object.entries(p.opt)) {
    const o = rows.get(name);
    expect(o, name).toBeDefined();
    if (o!.type === 'flag') expect(v).toBe(true);
    else {
      for (const x of p.all[name]) expect(checkValue(o!, x), `--${name} ${x}`).toBeNull();
      if (!o!.repeat) expect(p.all[name]).toHaveLength(1);
    }
    if (o!.needs) expect(p.opt[o!.needs], `--${name} needs --${o!.needs}`).toBeDefined();
  }
  for (const need of spec.required ?? []) expect(need.split('|').some((n) => p.opt[n] !== undefined), need).toBe(true);
  const pos = spec.positionals ?? { min: 0, max: 0 };
  expect(p.pos.length).toBeGreaterThanOrEqual(pos.min);
  expect(p.pos.length).toBeLessThanOrEqual(pos.max);
}

describe('the option parser (one declaration per command)', () => {
  it('random argument vectors: a configuration that honours the declaration, or a one-line usage error', () => {
    const r = new Rng(7);
    let parsed = 0;
    let refused = 0;
    const samples: { args: string[]; message: string }[] = [];
    for (const { spec } of COMMANDS) {
      for (let i = 0; i < 1500; i++) {
        const args = randomArgs(spec, r);
        let p: Parsed | null = null;
        try {
          p = parseCommand(spec, args);
        } catch (e) {
          expect(e, `${spec.name} ${JSON.stringify(args)}: ${(e as Error).stack}`).toBeInstanceOf(UsageError);
          const m = (e as Error).message;
          expect(m.split('\n'), m).toHaveLength(1);
          expect(m.length).toBeGreaterThan(10);
          if (refused++ % 997 === 0) samples.push({ args: [spec.name, ...args], message: m });
        }
        if (p) {
          honours(spec, p);
          parsed++;
        }
      }
    }
    // Both outcomes occur: the generator reaches valid configurations, not only errors.
    expect(parsed).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(1000);
    // A sample of the refused vectors through the real command: exit 2, that one line, nothing else.
    expect(samples.length).toBeGreaterThan(8);
    for (const { args, message } of samples) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toBe(`faceinv: ${message}`);
      expect(r.out).toBe('');
    }
  }, 300_000);

  it('valid configurations built from the declaration parse to exactly what was given', () => {
    const r = new Rng(11);
    for (const { spec } of COMMANDS) {
      for (let i = 0; i < 200; i++) {
        const args: string[] = [];
        const given = new Map<string, string | true>();
        for (const o of optionsOf(spec)) {
          const required = (spec.required ?? []).some((q) => q.split('|')[0] === o.name);
          if (!required && (r.next() < 0.6 || (o.needs && !given.has(o.needs)))) continue;
          if (o.type === 'flag') {
            args.push(`--${o.name}`);
            given.set(o.name, true);
            continue;
          }
          // A value inside the declared range, or one the option's own check accepts.
          const number = String(Math.min(o.max ?? Infinity, Math.max(o.min ?? 0, 1)));
          const v = o.choices ? o.choices[Math.floor(r.next() * o.choices.length)] : o.type === 'int' ? String(Math.max(o.min ?? 0, 1)) : o.type === 'number' ? number : (VALID[o.name] ?? (o.arg === 'S,K,R' ? '4,0.05,3' : 'x.png'));
          args.push(`--${o.name}`, v);
          given.set(o.name, v);
        }
        const pos = spec.positionals ? Array.from({ length: spec.positionals.min }, (_, k) => `p${k}.png`) : [];
        const p = parseCommand(spec, [...args, ...pos]);
        expect(p.opt).toEqual(Object.fromEntries(given));
        expect(p.pos).toEqual(pos);
      }
    }
  });

  it('--help lists every declared option of every command', () => {
    for (const { spec } of COMMANDS) {
      const text = helpText(spec);
      expect(text.startsWith(`Usage: faceinv ${spec.name}`), spec.name).toBe(true);
      for (const o of optionsOf(spec)) expect(text, `${spec.name} --${o.name}`).toMatch(new RegExp(`^  --${o.name}\\b`, 'm'));
    }
  });
});

describe('reconstruction settings from the options', () => {
  /** invert's settings for these arguments, under the default model. */
  const settingsFor = async (...args: string[]) => {
    const { settings } = await import('../src/cli/invert.ts');
    const { FaceModel } = await import('../src/models/face_model.ts');
    const { defaultModelPath } = await import('./helpers/faces.ts');
    const { readFileSync } = await import('node:fs');
    const model = FaceModel.fromBytes(new Uint8Array(readFileSync(defaultModelPath())));
    const spec = COMMANDS.find((c) => c.spec.name === 'invert')!.spec;
    const { s, owned } = await settings(model, parseCommand(spec, ['--target', 'a.png', '--out', 'o.png', ...args]), null);
    owned.forEach((o) => o.dispose());
    model.dispose();
    return s;
  };

  it('--tv-alpha sets the global form\'s α only, --tv-beta the per-pixel form\'s β', async () => {
    const a = (await settingsFor('--tv-alpha', '1.5')).tv!;
    expect([a.alpha, a.beta]).toEqual([1.5, undefined]);
    const b = (await settingsFor('--tv-form', 'pixel', '--tv-beta', '1.2')).tv!;
    expect([b.form, b.alpha, b.beta]).toEqual(['pixel', 2, 1.2]);
  });

  it('the input-diversity options add to one jitter: flips, tones, blur and noise with or without --jitter', async () => {
    const j = (await settingsFor('--noise-jitter', '12', '--blur-jitter', '0.5')).jitter!;
    expect([j.shift, j.scale, j.rotate, j.noise, j.blur]).toEqual([0, 0, 0, 12, 0.5]);
    const k = (await settingsFor('--preset', 'identity', '--noise-jitter', '8')).jitter!;
    expect([k.shift, k.flip, k.colour, k.noise]).toEqual([4, true, 0.1, 8]);
  });

  it('every option declared with a plain effect (its row\'s set) changes the settings it names', async () => {
    const { LOSS_OPTIONS } = await import('../src/cli/invert.ts');
    // Schedules compared by their value at iteration 100.
    const settled = async (...args: string[]) => JSON.stringify(await settingsFor(...args), (_, v) => (typeof v === 'function' ? String(v(100)) : v));
    const plain = await settled();
    const rows = LOSS_OPTIONS.filter((o): o is OptionSpec => 'name' in o && !!o.set);
    expect(rows.length).toBeGreaterThan(10);
    for (const o of rows) {
      // A value unlike the preset's: the other choice, or a number inside the declared range.
      const value = o.type === 'flag' ? [] : [o.choices ? o.choices.at(-1)! : String(Math.min(o.max ?? Infinity, (o.min ?? o.above ?? 0) + (o.type === 'int' ? 3 : 0.37)))];
      expect(await settled(`--${o.name}`, ...value), `--${o.name} ${value.join('')}`).not.toBe(plain);
    }
  });
});
