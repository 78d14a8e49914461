// Public API of faceinv: the same in Node, Deno and the browser.
export { init, engine, shutdown, Engine, GpuError, type ProfileRow } from './tensor/engine.ts';
export { requestDevice, NoAdapterError, type AdapterSummary, type DeviceHandle } from './tensor/device.ts';
export { Tensor, tidy, keep, type GradNode } from './tensor/tensor.ts';
export { Rng, rand, randn } from './tensor/random.ts';
export * from './tensor/shape.ts';
export { backward, noGrad, grad, valueAndGrad, isGradEnabled, type BackwardOptions } from './autograd/tape.ts';
export * from './autograd/ops.ts';
export { conv2d, convTranspose2d, type ConvOptions, type ConvTransposeOptions, type Padding } from './autograd/conv.ts';
export { maxPool2d, avgPool2d, globalAvgPool, type PoolOptions, type AvgPoolOptions } from './autograd/pool.ts';
export { affineAct, type AffineActParams } from './autograd/affine_act.ts';
export {
  totalVariation, pyrDown, pyrUp, lapSplit, lapMerge, lapNormalize, lapRegularizer, mirrorRegularizer, type TvOptions,
} from './autograd/regularizers.ts';
export * as schedules from './optim/schedule.ts';
export { Optimizer, SGD, Adam, type SgdOptions, type AdamOptions, type Schedule } from './optim/index.ts';
export { setMatmulVariant, matmulVariant, type MatmulVariant } from './kernels/matmul.ts';
export { setConvVariant, convVariant, type ConvVariant } from './kernels/conv.ts';
export { OnnxModule, type IoInfo, type RunOptions } from './models/onnx/module.ts';
export { OnnxError } from './models/onnx/load.ts';
export { SUPPORTED_OPS } from './models/onnx/op_table.ts';
export { convertFaceRecognitionNet, readWeights, FACE_MODEL_META } from './models/faceapi.ts';
export { FaceModel, missingMetadata, euclidean } from './models/face_model.ts';
export { FaceDetector, decodeBoxes, type FaceBox, type DetectedFace, type DetectOptions } from './models/face_detect.ts';
export { alignFaces, chipTransform, chipTemplate, cutChip, similarity, type AlignedFace, type LandmarkDetector } from './models/align.ts';
export { convertTinyFaceDetector, convertLandmarkNet } from './models/faceapi-detect.ts';
export {
  reconstruct, ReconstructError, type ReconstructOptions, type ReconstructResult, type Progress, type TraceRow, type GuideLayer, type TvSettings,
} from './invert/reconstruct.ts';
export { preset, decayingTv, guideLayersOf, type PresetName, type PresetSettings } from './invert/presets.ts';
export { embeddingLoss, embeddingDistance, guideLoss, unitRows, GaussianPrior, fitLapSpectrum, type Distance, type EmbeddingLossOptions } from './invert/losses.ts';
export { fromPlanes, toModelInput, resize, centerCropSquare, type RgbImage } from './io/image.ts';
export { chartSvg, imageGrid, type ChartOptions, type Series } from './io/plot.ts';
export { Decoder, defaultDecoderConfig, parameterShapes, initialParameters, fullSize, type DecoderConfig } from './models/decoder.ts';
export { encodeCheckpoint, decodeCheckpoint, CheckpointError, type Checkpoint } from './train/checkpoint.ts';
export { GaussianSampler } from './train/sampler.ts';
export { decodePngBytes, encodePngBytes, PngCodecError } from './io/png-codec.ts';
export { decodeJpeg, readJpegHeader, applyOrientation, isJpeg, JpegError, type JpegHeader } from './io/jpeg.ts';
