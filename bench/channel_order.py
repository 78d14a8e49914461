# Which channel order a judge network reads best: every gallery photo embedded as it is and with R and B
# swapped (equivalent to swapping the network's input), then rank-1 identification of each photo among the
# others and the AUC of same-person against different-person cosine similarities. Needs numpy and dist/.
#   npm run build && /usr/bin/python3 bench/channel_order.py ../shared/gallery assets/judges/mobileface.onnx
import glob, itertools, json, os, subprocess, sys, tempfile
import numpy as np
from PIL import Image

gallery, model = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(gallery + '/*/*.png'))
tmp = tempfile.mkdtemp()
swapped = []
for f in files:
    r, g, b = Image.open(f).convert('RGB').split()
    p = os.path.join(tmp, os.path.relpath(f, gallery))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    Image.merge('RGB', (b, g, r)).save(p)
    swapped.append(p)

def scores(paths):
    out = subprocess.run(['node', 'dist/cli.js', 'embed', '--model', model, *paths], capture_output=True, text=True, check=True).stdout
    e = np.array([json.loads(l)['embedding'] for l in out.strip().split('\n')])
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    people = [p.split('/')[-2] for p in paths]
    s = e @ e.T
    same = np.array([s[i, j] for i, j in itertools.combinations(range(len(paths)), 2) if people[i] == people[j]])
    diff = np.array([s[i, j] for i, j in itertools.combinations(range(len(paths)), 2) if people[i] != people[j]])
    np.fill_diagonal(s, -9)
    rank1 = sum(people[int(np.argmax(s[i]))] == people[i] for i in range(len(paths)))
    return {'rank1': int(rank1), 'photos': len(paths), 'auc': round(float((same[:, None] > diff[None, :]).mean()), 4)}

result = {'as_given': scores(files), 'r_b_swapped': scores(swapped)}
print(json.dumps({'name': 'channel_order', 'model': model, **result}))
