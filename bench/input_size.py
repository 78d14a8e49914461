# How well a judge network that resamples faceinv's chip identifies the gallery's own photos when run at other
# input sizes (as an ensemble member may be, --ensemble F@S): rank 1 of each photo among the others and the AUC
# of same- against different-person cosines, per size. Writes resized copies of the ONNX file (input dims and
# faceinv.input_size changed) to a temporary folder. Needs python3-onnx, numpy and dist/.
#   npm run build && /usr/bin/python3 bench/input_size.py ../shared/gallery assets/judges/faceres.onnx 224,150,112
import glob, itertools, json, os, subprocess, sys, tempfile
import numpy as np
import onnx

gallery, model, sizes = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(',')]
files = sorted(glob.glob(gallery + '/*/*.png'))
people = [f.split('/')[-2] for f in files]
tmp = tempfile.mkdtemp()

def resized(size):
    m = onnx.load(model)
    d = m.graph.input[0].type.tensor_type.shape.dim
    d[2].dim_value = d[3].dim_value = size
    for p in m.metadata_props:
        if p.key == 'faceinv.input_size': p.value = str(size)
    path = os.path.join(tmp, f'{size}.onnx')
    onnx.save(m, path)
    return path

def scores(path):
    rows = []
    for i in range(0, len(files), 20):
        out = subprocess.run(['node', 'dist/cli.js', 'embed', '--no-align', '--model', path, *files[i:i + 20]], capture_output=True, text=True, check=True).stdout
        rows += [json.loads(l)['embedding'] for l in out.strip().split('\n')]
    e = np.array(rows)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    s = e @ e.T
    pairs = list(itertools.combinations(range(len(files)), 2))
    same = np.array([s[i, j] for i, j in pairs if people[i] == people[j]])
    diff = np.array([s[i, j] for i, j in pairs if people[i] != people[j]])
    np.fill_diagonal(s, -9)
    rank1 = sum(people[int(np.argmax(s[i]))] == people[i] for i in range(len(files)))
    return {'rank1': int(rank1), 'photos': len(files), 'auc': round(float((same[:, None] > diff[None, :]).mean()), 4)}

print(json.dumps({'name': 'input_size', 'model': model, 'sizes': {s: scores(resized(s)) for s in sizes}}))
