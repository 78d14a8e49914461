// The gallery photos the decoder benches decode and judge: one per person with two or more photos, the first
// by name (as judge --per-person 1 picks), so that the rest of the person's photos remain to be found by.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function firstPhotos(gallery: string): { person: string; photo: string }[] {
  const people = readdirSync(gallery, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  return people
    .map((p) => ({ person: p, files: readdirSync(join(gallery, p)).filter((f) => f.toLowerCase().endsWith('.png')).sort() }))
    .filter((p) => p.files.length >= 2)
    .map((p) => ({ person: p.person, photo: p.files[0] }));
}
