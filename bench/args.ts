// Command-line values of the benches: `--name value`, or the default when the option is absent.
export function arg(name: string, def: string): string;
export function arg(name: string, def?: string): string | undefined;
export function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
