#!/usr/bin/env python3
# The identity grid of BENCHMARKS.md and the README: one reconstruction per person (columns, people in name
# order, 96-px tiles), rows top to bottom: the paper method (dlib alone), then the lever's reconstructions, one
# row per set of optimised networks (bench/identity.ts's folders <lever dir>/<net>+<net>…, each made without
# one judge), in the order the folders' names sort.
#   /usr/bin/python3 bench/identity_grid.py <paper dir> <lever dir> <out.png>
# e.g. bench/identity_grid.py runs/identity/paper/dlib runs/identity8/identity-face-contrast bench/identity-reconstructions.png
import glob
import os
import sys
from PIL import Image

paper, lever, out = sys.argv[1:4]
sets = sorted(d for d in os.listdir(lever) if os.path.isdir(os.path.join(lever, d)))
rows = [paper] + [os.path.join(lever, d) for d in sets]
print('rows:', ', '.join(['paper'] + sets))
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
