#!/usr/bin/env python3
# The identity grid of BENCHMARKS.md and the README: one reconstruction per person (columns, people in name
# order, 96-px tiles), rows top to bottom: the paper method (dlib alone), then the lever's reconstructions made
# without faceres, without faceplugin, without mobileface and without dlib (bench/identity.ts's folders).
#   /usr/bin/python3 bench/identity_grid.py <paper dir> <lever dir> <out.png>
# e.g. bench/identity_grid.py runs/identity/paper/dlib runs/identity8/identity-face-contrast bench/identity-reconstructions.png
import glob
import sys
from PIL import Image

paper, lever, out = sys.argv[1:4]
rows = [paper] + [f'{lever}/{d}' for d in ['dlib+mobileface+faceplugin', 'dlib+mobileface+faceres', 'dlib+faceplugin+faceres', 'mobileface+faceplugin+faceres']]
C, G = 96, 2
files = [sorted(glob.glob(f'{d}/person*/*.png')) for d in rows]
people = len(files[0])
for d, fs in zip(rows, files):
    if len(fs) != people:
        sys.exit(f'{d}: {len(fs)} reconstructions, expected {people}')
grid = Image.new('RGB', (people * C + (people - 1) * G, len(rows) * C + (len(rows) - 1) * G), 'white')
for r, fs in enumerate(files):
    for i, f in enumerate(fs):
        grid.paste(Image.open(f).convert('RGB').resize((C, C), Image.LANCZOS), (i * (C + G), r * (C + G)))
grid.save(out)
print(f'{out}: {len(rows)} rows × {people} people')
