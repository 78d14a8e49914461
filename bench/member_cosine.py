# How closely the networks that took part match their targets: for each reconstruction <run>/<person>/<photo>.png
# and its source photo <gallery>/<person>/<photo>.png, the cosine of their embeddings under each network
# (`faceinv embed`), averaged over the run. Needs a build (`npm run build`), python3 and numpy.
#   /usr/bin/python3 bench/member_cosine.py ../shared/gallery runs/identity8/identity-face-contrast/dlib+faceplugin+faceres faceplugin faceres
import glob, json, os, subprocess, sys
import numpy as np

gallery, run, nets = sys.argv[1], sys.argv[2], sys.argv[3:]
recs = sorted(glob.glob(run + '/person*/*.png'))
srcs = [os.path.join(gallery, os.path.basename(os.path.dirname(r)), os.path.basename(r)) for r in recs]
out = {}
for net in nets:
    model = f'assets/judges/{net}.onnx'
    lines = subprocess.run(['node', 'dist/cli.js', 'embed', '--model', model, *srcs, *recs], capture_output=True, text=True, check=True).stdout.split('\n')
    e = np.array([json.loads(l)['embedding'] for l in lines if l.strip()])
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    n = len(recs)
    out[net] = round(float((e[:n] * e[n:]).sum(1).mean()), 3)
    print(f'{net}: mean cosine of {n} reconstructions to their source photos {out[net]}')
print(json.dumps({'name': 'member_cosine', 'run': run, 'cosine': out}))
