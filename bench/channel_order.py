# Which channel order a judge network reads best: every gallery photo embedded as it is and with R and B
# swapped (equivalent to swapping the network's input), then rank-1 identification of each photo among the
# others and the AUC of same-person against different-person cosine similarities. Needs numpy and dist/.
#   npm run build && /usr/bin/python3 bench/channel_order.py ../shared/gallery assets/judges/mobileface.onnx
import glob, json, os, sys, tempfile
from PIL import Image
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gallery_auc import scores

gallery, model = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(gallery + '/*/*.png'))
tmp = tempfile.mkdtemp()
for f in files:
    r, g, b = Image.open(f).convert('RGB').split()
    p = os.path.join(tmp, os.path.relpath(f, gallery))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    Image.merge('RGB', (b, g, r)).save(p)

result = {'as_given': scores(gallery, model), 'r_b_swapped': scores(tmp, model)}
print(json.dumps({'name': 'channel_order', 'model': model, **result}))
