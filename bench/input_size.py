# How well a judge network that resamples faceinv's chip identifies the gallery's own photos when run at other
# input sizes (as an ensemble member may be, --ensemble F@S): rank 1 of each photo among the others and the AUC
# of same- against different-person cosines, per size. Writes resized copies of the ONNX file (input dims and
# faceinv.input_size changed) to a temporary folder. Needs python3-onnx, numpy and dist/.
#   npm run build && /usr/bin/python3 bench/input_size.py ../shared/gallery assets/judges/faceres.onnx 224,150,112
import json, os, sys, tempfile
import onnx
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gallery_auc import scores

gallery, model, sizes = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(',')]
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

print(json.dumps({'name': 'input_size', 'model': model, 'sizes': {s: scores(gallery, resized(s)) for s in sizes}}))
