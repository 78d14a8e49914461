# What resampling alone costs a half-size face (issue 19's 0.5× paste): the sample chip reduced to 75 px and
# enlarged back to 150 px by several filters, embedded by the default model (`faceinv embed`, built dist/),
# distance to the chip's own embedding. No detection or alignment is involved. Needs python3-pil and numpy.
#   npm run build && /usr/bin/python3 bench/resample_limit.py
import json, os, subprocess, tempfile
import numpy as np
from PIL import Image, ImageFilter

chip = 'assets/faces/astronaut.png'
im = Image.open(chip).convert('RGB')
down = {'area': Image.BOX, 'bilinear': Image.BILINEAR, 'point': Image.NEAREST}
up = {'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC, 'lanczos': Image.LANCZOS}
tmp = tempfile.mkdtemp()
files = {}
for dn, dm in down.items():
    small = im.resize((75, 75), dm)
    for un, um in up.items():
        big = small.resize((150, 150), um)
        files[f'{dn}+{un}'] = big
        if dn == 'area':
            files[f'{dn}+{un}+unsharp'] = big.filter(ImageFilter.UnsharpMask(radius=2, percent=50, threshold=0))
paths = []
for k, img in files.items():
    p = os.path.join(tmp, k.replace('+', '_') + '.png')
    img.save(p)
    paths.append(p)
out = subprocess.run(['node', 'dist/cli.js', 'embed', chip, *paths], capture_output=True, text=True, check=True).stdout
emb = [np.array(json.loads(l)['embedding']) for l in out.strip().split('\n')]
dist = {k: round(float(np.linalg.norm(e - emb[0])), 4) for k, e in zip(files, emb[1:])}
for k, v in dist.items():
    print(f'{k}: {v}')
print(json.dumps({'name': 'resample_limit', 'distance': dist}))
