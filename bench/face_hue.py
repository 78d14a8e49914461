# Mean face hue of reconstructions and photos: 8-bit YCbCr Cb and Cr averaged over the chip's central 60 %
# (where the skin-tone prior looks), per folder of <person>/<photo>.png. Needs python3-pil and numpy.
#   /usr/bin/python3 bench/face_hue.py ../shared/gallery runs/identity2/identity/dlib+faceplugin ...
import glob, json, sys
import numpy as np
from PIL import Image

def hue(files):
    cb, cr = [], []
    for f in files:
        a = np.asarray(Image.open(f).convert('RGB').resize((150, 150)), dtype=np.float64) / 255
        c = a[30:120, 30:120]
        y = c @ [0.299, 0.587, 0.114]
        cb.append((128 + 255 * 0.564 * (c[..., 2] - y)).mean())
        cr.append((128 + 255 * 0.713 * (c[..., 0] - y)).mean())
    return round(float(np.mean(cb)), 1), round(float(np.mean(cr)), 1)

rows = {}
for d in sys.argv[1:]:
    files = sorted(glob.glob(d + '/person*/*.png'))
    rows[d] = hue(files)
    print(f'{d}: {len(files)} images, Cb {rows[d][0]}, Cr {rows[d][1]}')
print(json.dumps({'name': 'face_hue', 'cb_cr': rows}))
