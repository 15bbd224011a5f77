#!/usr/bin/env bash
# The CUDA route on a machine with an NVIDIA GPU (the device tool's H200; no network there), in
# two phases because what must travel (llama.cpp's source and the 98 MB default model) is larger
# than one call carries:
#   cuda-route.sh build [seconds]  unpack the patched llama.cpp source, configure with the flags `make plan`
#                          gave for an H200 (.device/cmake-args.txt) plus the toolchain flags our
#                          cuda/toolkit.ts gives for this machine's toolkit, compile in the background
#   cuda-route.sh serve    join the model, wait for the build, then llama-bench on the card, the
#                          plan's llama-server argv (.device/server-argv.txt) with its offload
#                          report, the OpenAI endpoints, and served decode speed against llama-bench
# Everything it learns goes to $OUT.
set -uo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
dev="$here/.device"
work=/tmp/wb-cuda
out="${OUT:-/tmp/wb-cuda-out}"
mkdir -p "$work" "$out"

first_existing() { for f in "$@"; do [ -e "$f" ] && { echo "$f"; return; }; done; }

toolkit_root() {
  local root
  root="$(readlink -f /usr/local/cuda 2>/dev/null || true)"
  [ -x "$root/bin/nvcc" ] && { echo "$root"; return; }
  dirname "$(dirname "$(command -v nvcc)")"
}

case "${1:-}" in
build)
  nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader,nounits | tee "$out/nvidia-smi.txt"
  root="$(toolkit_root)"
  lib="$root/lib64"; [ -d "$lib" ] || lib="$root/lib"
  echo "toolkit: $root ($("$root/bin/nvcc" --version | tail -2 | head -1)); cuBLAS: $(first_existing "$lib"/libcublas.so* "$root"/targets/*/lib/libcublas.so*)" | tee "$out/toolkit.txt"
  driver="$(first_existing /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1 /usr/local/nvidia/lib64/libcuda.so.1)"
  echo "driver library: ${driver:-none}" | tee -a "$out/toolkit.txt"
  rm -rf "$work/src" "$work/build"; mkdir -p "$work/src"
  tar -xJf "$dev/src.tar.xz" -C "$work/src"
  mapfile -t args < "$dev/cmake-args.txt"
  # What cudaBuildToolchain (scripts/lib/accelerator/cuda/toolkit.ts) passes for a machine toolkit.
  args+=("-DCMAKE_CUDA_COMPILER=$root/bin/nvcc" "-DCUDAToolkit_ROOT=$root" "-DCMAKE_BUILD_RPATH=$lib")
  [ -n "$driver" ] && args+=("-DCUDA_cuda_driver_LIBRARY=$driver")
  printf '%s\n' "${args[@]}" > "$out/configure-args.txt"
  start=$(date +%s)
  cmake -S "$work/src/llama.cpp" -B "$work/build" -G Ninja "${args[@]}" > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  grep -E "CUDA Toolkit|CUDAToolkit|cuBLAS|Using CUDA architectures|found version" "$out/configure.log" | head
  setsid nohup bash -c "cmake --build '$work/build' --target llama-server llama-bench -j \$(nproc) > '$work/build.log' 2>&1; echo \$? > '$work/build.rc'; echo \$((\$(date +%s) - $start)) > '$work/build.seconds'" >/dev/null 2>&1 < /dev/null &
  echo "build started in the background ($(nproc) cores)"
  # Wait here (the machine stays busy, not idle) until it ends or the call's time is nearly up;
  # `serve` waits for whatever is left.
  deadline=$(( $(date +%s) + ${2:-500} ))
  while [ ! -f "$work/build.rc" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 10; done
  tail -c 300 "$work/build.log" | tr '\r' '\n' | tail -2
  [ -f "$work/build.rc" ] && echo "build rc $(cat "$work/build.rc") in $(cat "$work/build.seconds") s"
  ;;
serve)
  cat "$dev"/model.part-* > "$work/model.gguf"
  echo "model: $(sha256sum "$work/model.gguf" | cut -c1-16) $(stat -c %s "$work/model.gguf") bytes" | tee "$out/model.txt"
  while [ ! -f "$work/build.rc" ]; do sleep 5; done
  cp "$work/build.log" "$out/build.log"
  echo "build rc $(cat "$work/build.rc") in $(cat "$work/build.seconds") s" | tee "$out/build.txt"
  [ "$(cat "$work/build.rc")" = 0 ] || { tail -40 "$work/build.log"; exit 1; }
  bin="$work/build/bin"
  ldd "$bin/llama-server" | grep -E "cuda|cublas" | tee "$out/ldd.txt"
  "$bin/llama-bench" -m "$work/model.gguf" -ngl 99 -p 512 -n 128 -r 5 -o md 2>&1 | tee "$out/llama-bench.md" | tail -6
  mapfile -t argv < "$dev/server-argv.txt"
  port=18181
  for i in "${!argv[@]}"; do
    case "${argv[$i]}" in
      --model) argv[i+1]="$work/model.gguf" ;;
      --port) argv[i+1]=$port ;;
      --threads|--threads-batch) argv[i+1]=$(nproc) ;;
    esac
  done
  argv[0]="$bin/llama-server"
  printf '%s\n' "${argv[@]}" > "$out/server-argv.txt"
  "${argv[@]}" > "$out/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 1; done
  grep -E "using device|offloaded|ggml_cuda_init|CUDA0|build:" "$out/server.log" | head -12 | tee "$out/offload.txt"
  python3 "$here/test/device/endpoints.py" "$port" 2>&1 | tee "$out/endpoints.txt"
  kill "$pid"; wait "$pid" 2>/dev/null
  ;;
*) echo "usage: $0 build|serve"; exit 2 ;;
esac
