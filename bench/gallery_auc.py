# How well a face network tells the gallery's own people apart (no reconstruction involved): each photo's
# rank-1 person among the others, and the AUC of same- against different-person cosines, with the mean
# cosines of each kind. For judging a network's preprocessing (its chip box, its channel order, its input
# size: bench/input_size.py uses scores()). Needs numpy and dist/.
#   npm run build && /usr/bin/python3 bench/gallery_auc.py ../shared/gallery assets/judges/mobileface.onnx [more.onnx ...]
import glob, itertools, json, subprocess, sys
import numpy as np

def scores(gallery, model):
    files = sorted(glob.glob(gallery + '/*/*.png'))
    people = [f.split('/')[-2] for f in files]
    rows = []
    for i in range(0, len(files), 20):
        out = subprocess.run(['node', 'dist/cli.js', 'embed', '--no-align', '--model', model, *files[i:i + 20]], capture_output=True, text=True, check=True).stdout
        rows += [json.loads(l)['embedding'] for l in out.strip().split('\n')]
    e = np.array(rows)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    s = e @ e.T
    pairs = list(itertools.combinations(range(len(files)), 2))
    same = np.array([s[i, j] for i, j in pairs if people[i] == people[j]])
    diff = np.array([s[i, j] for i, j in pairs if people[i] != people[j]])
    np.fill_diagonal(s, -9)
    rank1 = sum(people[int(np.argmax(s[i]))] == people[i] for i in range(len(files)))
    return {'rank1': int(rank1), 'photos': len(files), 'auc': round(float((same[:, None] > diff[None, :]).mean()), 4),
            'same': round(float(same.mean()), 3), 'different': round(float(diff.mean()), 3)}

if __name__ == '__main__':
    for m in sys.argv[2:]:
        print(json.dumps({'name': 'gallery_auc', 'model': m, **scores(sys.argv[1], m)}))
