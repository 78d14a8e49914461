#!/bin/bash
# Runs bench/matmul, bench/kernels and bench/invert (PyTorch CUDA as its peer) on a lent GPU machine, whose
# image has CUDA, Python and PyTorch but no Node and no Vulkan loader. Prepare here:
#   node bench/gpu/pack.mjs                         (.device/: Node, Dawn, the bundled benches)
#   the Vulkan loader's .debs in .gl/               (the device tool's README gives the apt-get download line)
# then call the device tool with carry [".device", ".gl"] and the command `bash bench/gpu/run.sh`
# (or `BENCHES="profile dispatches" bash bench/gpu/run.sh` for the others bundled).
# Logs and the JSON lines land in $OUT (or out/gpu when OUT is unset).
set -u -o pipefail
cd "$(dirname "$0")/../.."
LOG=${OUT:-out/gpu}
mkdir -p "$LOG" out
[ -n "${SKIP_GL:-}" ] || for f in .gl/*.deb; do dpkg -x "$f" /; done
[ -n "${SKIP_GL:-}" ] || ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
unxz() { python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$1" "$2"; }
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  unxz .device/node.xz /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
fi
unxz .device/node_modules/webgpu/dist/linux-x64/dawn.node.xz .device/node_modules/webgpu/dist/linux-x64/dawn.node
cp .device/tfjs-gradients.mjs out/
export FACEINV_BENCH_PACKED=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; node --version; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'; } 2>&1 | tee "$LOG/machine.log"
node .device/convert.mjs || exit 1
run() { local name=$1; shift; echo "== $name $*"; timeout "${BENCH_TIMEOUT:-240}" node ".device/$name.mjs" "$@" 2>&1 | tee "$LOG/$name.log"; }
# BENCHES picks and orders them (default: the three the issue names); profile runs at batch 1 and 8.
for b in ${BENCHES:-matmul kernels invert}; do
  case $b in
    invert) run invert --torch-device cuda --python python3 ;;
    profile) run profile --batch 1 && cp "$LOG/profile.log" "$LOG/profile-b1.log" && run profile --batch 8 ;;
    *) run "$b" ;;
  esac
done
echo "== JSON lines"
for b in ${BENCHES:-matmul kernels invert}; do tail -n 1 "$LOG/$b.log" | cut -c1-400; done
