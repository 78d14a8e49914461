# Issue 20, one lever measured: how far pixel supervision alone carries a decoder. The best linear decoder
# (ridge regression from the default model's embedding to the 150-px chip), fitted on real faces with a
# leave-people-out split — the gallery's people in two folds, each decoded by the regression fitted on the
# other fold's photos (and their mirror images) plus the 100 bundled LFW faces — then judged as
# bench/decoder-identity.ts judges a decoder: rank 1 by each network against the gallery without the photo,
# and the distinctness of the faces (mean pixel distance between two people's faces over that of their photos).
#   npm run build && /usr/bin/python3 bench/decoder_ridge.py ../shared/gallery out/decoder-ridge [lambda]
import glob, json, os, subprocess, sys
import numpy as np
from PIL import Image

gallery, out = sys.argv[1], sys.argv[2]
lam = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
os.makedirs(out, exist_ok=True)
files = sorted(glob.glob(gallery + '/*/*.png'))
person = lambda f: f.split('/')[-2]
chip = lambda im: np.asarray(im.convert('RGB').resize((150, 150), Image.BILINEAR), np.float32)

def write(path, a):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(path)

# Training images: the gallery photos, the LFW tiles (25 px, enlarged as train-decoder does), and mirrors.
sheet = Image.open('assets/lfw/faces-25px.png').convert('RGB')
lfw = []
for k in range(100):
    p = f'{out}/train/lfw/{k:03d}.png'
    write(p, chip(sheet.crop((25 * (k % 10), 25 * (k // 10), 25 * (k % 10) + 25, 25 * (k // 10) + 25))))
    lfw.append(p)
mirror = {}
for f in files + lfw:
    p = f'{out}/train/mirror/{len(mirror):03d}.png'
    write(p, chip(Image.open(f).transpose(Image.FLIP_LEFT_RIGHT)))
    mirror[f] = p

def embed(paths):
    e = {}
    for i in range(0, len(paths), 20):
        r = subprocess.run(['node', 'dist/cli.js', 'embed', '--no-align', *paths[i:i + 20]], capture_output=True, text=True, check=True)
        e.update({json.loads(l)['image']: np.array(json.loads(l)['embedding']) for l in r.stdout.strip().split('\n')})
    return e

E = embed(files + lfw + list(mirror.values()))
X = {f: chip(Image.open(f)).reshape(-1) for f in E}
people = sorted({person(f) for f in files})
decoded = []
for fold in range(2):
    held = set(people[fold::2])
    train = [f for f in files if person(f) not in held] + lfw
    train += [mirror[f] for f in train]
    A = np.stack([E[f] for f in train]); Y = np.stack([X[f] for f in train])
    ma, my = A.mean(0), Y.mean(0)
    W = np.linalg.solve((A - ma).T @ (A - ma) + lam * np.eye(A.shape[1]), (A - ma).T @ (Y - my))
    for p in sorted(held):
        src = sorted(f for f in files if person(f) == p)[0]
        path = f'{out}/faces/{p}/{os.path.basename(src)}'
        write(path, ((E[src] - ma) @ W + my).reshape(150, 150, 3))
        decoded.append((path, src))
decoded.sort()

def pair_diff(imgs):
    d = [np.abs(imgs[a] - imgs[b]).mean() for a in range(len(imgs)) for b in range(a + 1, len(imgs))]
    return float(np.mean(d))
distinct = pair_diff([chip(Image.open(d)).reshape(-1) for d, _ in decoded]) / pair_diff([X[s] for _, s in decoded])
judges = {}
for j in ['mobileface', 'faceres', 'faceplugin']:
    r = subprocess.run(['node', 'dist/cli.js', 'judge', '--gallery', gallery, '--judge', j, *[d for d, _ in decoded]], capture_output=True, text=True, check=True)
    s = json.loads(r.stdout.strip().split('\n')[-1])['summary']
    judges[j] = {'identified': s['identified'], 'judged': s['judged'], 'own': round(s['meanScore'], 3), 'best_other': round(s['meanBestOther'], 3)}
dl = embed([d for d, _ in decoded])
dist = [float(np.linalg.norm(dl[d] - E[s])) for d, s in decoded]
grid = Image.new('RGB', (96 * len(decoded), 96))
for i, (d, _) in enumerate(decoded):
    grid.paste(Image.open(d).resize((96, 96)), (96 * i, 0))
grid.save(f'{out}/decoded.png')
print(json.dumps({'name': 'decoder_ridge', 'lambda': lam, 'judges': judges, 'distinctness': round(distinct, 3),
                  'dlib_distance_mean': round(float(np.mean(dist)), 3), 'dlib_under_06': int(sum(d < 0.6 for d in dist)), 'grid': f'{out}/decoded.png'}))
