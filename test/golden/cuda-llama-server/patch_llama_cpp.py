"""Applies llm-workbench's llama.cpp patches in an image's build stage (python3, no Node).

Usage: python3 patch_llama_cpp.py <llama.cpp tree> <llama-cpp-patches.json>
The list and why each patch exists: scripts/lib/llama-cpp/source-patches.ts, which applies the
same literal edits to native builds. A patch already applied (its marker present) is skipped; one
whose text is not in its file is named and left out, and llama.cpp is built as it is.
"""

import json
import os
import sys


def main():
    tree, listing = sys.argv[1], sys.argv[2]
    with open(listing, encoding="utf-8") as f:
        patches = json.load(f)
    for patch in patches:
        path = os.path.join(tree, patch["file"])
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if f"/* llm-workbench: {patch['id']} */" in text:
            continue
        if patch["find"] not in text:
            print(f"llama.cpp patch {patch['id']} does not apply to {patch['file']}: built without it", file=sys.stderr)
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(patch["find"], patch["replace"]))


if __name__ == "__main__":
    main()
