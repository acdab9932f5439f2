"""Vendor GraphiQL's browser files from their npm packages into ``spirit_tours/graphiql/vendor``.

The server serves GraphiQL itself (``spirit_tours/graphiql``), so a browser with no way to a
CDN still gets it. This script is how those files get into the repository: ``npm pack`` fetches
each pinned package from the npm registry (npm checks the tarball against the registry's
integrity), the listed files are copied out unchanged, and ``manifest.json`` records for each
the package, version, the tarball's integrity and the file's own SHA-384 (the page's
``integrity=`` attribute; the server refuses to start if a file no longer matches it).

Usage (needs npm and the registry; the server and the tests never do):
    python scripts/vendor_graphiql.py          # download, copy, rewrite manifest.json
    python scripts/vendor_graphiql.py --check  # do the files match manifest.json?
The versions are those of strawberry's own GraphiQL page (the CDN one this replaces).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "spirit_tours" / "graphiql" / "vendor"
MANIFEST = VENDOR / "manifest.json"

# (npm package, version, file inside the package, name served) in the page's load order.
FILES = [
    ("react", "18.2.0", "umd/react.production.min.js", "react.production.min.js"),
    ("react-dom", "18.2.0", "umd/react-dom.production.min.js", "react-dom.production.min.js"),
    ("graphiql", "3.8.3", "graphiql.min.css", "graphiql.min.css"),
    ("graphiql", "3.8.3", "graphiql.min.js", "graphiql.min.js"),
    ("@graphiql/plugin-explorer", "1.0.2", "dist/style.css", "plugin-explorer.css"),
    ("@graphiql/plugin-explorer", "1.0.2", "dist/index.umd.js", "plugin-explorer.umd.js"),
]


def sri(body: bytes) -> str:
    """Subresource Integrity value of ``body`` (SHA-384, as browsers check it)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def pack(spec: str, into: Path) -> tuple[Path, str]:
    """Download one package's tarball with npm; its path and npm's integrity for it."""
    # npm from PATH, as `make install` runs it; the spec is one of FILES above.
    output = subprocess.run(  # noqa: S603
        ["npm", "pack", "--json", "--silent", spec],  # noqa: S607
        cwd=into,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (packed,) = json.loads(output)
    return into / packed["filename"], str(packed["integrity"])


def vendor() -> None:
    entries = []
    with tempfile.TemporaryDirectory() as temporary:
        tarballs: dict[str, tuple[Path, str]] = {}
        for package, version, inside, name in FILES:
            spec = f"{package}@{version}"
            if spec not in tarballs:
                tarballs[spec] = pack(spec, Path(temporary))
            tarball, integrity = tarballs[spec]
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(f"package/{inside}")
                assert member is not None, f"{spec} has no {inside}"
                body = member.read()
            (VENDOR / name).write_bytes(body)
            entries.append(
                {
                    "name": name,
                    "package": package,
                    "version": version,
                    "file": inside,
                    "tarball_integrity": integrity,
                    "integrity": sri(body),
                }
            )
            print(f"{name}: {spec}/{inside} {sri(body)}")
    MANIFEST.write_text(json.dumps(entries, indent=2) + "\n")


def check() -> int:
    problems = [
        f"{entry['name']} does not match manifest.json"
        for entry in json.loads(MANIFEST.read_text())
        if sri((VENDOR / entry["name"]).read_bytes()) != entry["integrity"]
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with manifest.json")
    if parser.parse_args().check:
        return check()
    VENDOR.mkdir(parents=True, exist_ok=True)
    vendor()
    return 0


if __name__ == "__main__":
    sys.exit(main())
