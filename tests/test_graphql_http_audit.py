"""The GraphQL-over-HTTP conformance audit of the ``graphql-http`` reference implementation
(tests/js/audit.mjs, its ``serverAudits``) against the live server: every MUST and every SHOULD
audit passes, so any client written to the spec — Apollo, urql, graphql-http's own — reads our
answers as the spec says, with either media type."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import LiveServer

JS = Path(__file__).parent / "js"


async def run_audit(url: str) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node (>= 20) is needed: install Node.js, then `make install`"
    assert (JS / "node_modules" / "graphql-http").is_dir(), (
        "run `make install` (npm ci in tests/js)"
    )
    process = await asyncio.create_subprocess_exec(
        node,
        str(JS / "audit.mjs"),
        url,
        cwd=JS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()
    results: list[dict[str, Any]] = json.loads(stdout)
    return results


async def test_every_must_and_should_audit_passes(live_server: LiveServer) -> None:
    results = await run_audit(f"{live_server.url}/graphql")
    required = [r for r in results if r["name"].startswith(("MUST", "SHOULD"))]
    assert len(required) >= 36, [r["name"] for r in results]  # 13 MUST + 23 SHOULD in 1.23
    failures = [r for r in required if r["status"] != "ok"]
    assert not failures, "\n".join(
        f"{r['id']} {r['name']}: {r.get('reason')}; got {r.get('response')}" for r in failures
    )


async def test_every_may_audit_passes_too(live_server: LiveServer) -> None:
    """The optional rules we follow as well (400 for a body or parameter that is not a
    GraphQL request, GET for queries, 4xx for a mutation over GET)."""
    results = await run_audit(f"{live_server.url}/graphql")
    optional = [r for r in results if r["name"].startswith("MAY")]
    assert optional
    failures = [r for r in optional if r["status"] != "ok"]
    assert not failures, "\n".join(f"{r['id']} {r['name']}: {r.get('reason')}" for r in failures)
