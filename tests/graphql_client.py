"""A small GraphQL client over real HTTP, for tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Result:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str | None]:
        return [(e.get("extensions") or {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert not self.errors, self.errors
        return self.data


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        return Result(response.status_code, response.json())

    async def login(self, email: str, password: str) -> dict[str, Any]:
        result = await self.execute(LOGIN, {"input": {"email": email, "password": password}})
        payload: dict[str, Any] = result.ok()["login"]
        return payload

    async def token_for(self, email: str, password: str) -> str:
        return str((await self.login(email, password))["accessToken"])


LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt
    user { id email role }
  }
}
"""
