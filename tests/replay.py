"""Offline HTTP replay for the live-source tests: a `requests` transport that answers from recorded bodies.

Mounted on a ccxt client's `requests` session, so ccxt's own URL building, status handling and parsing run as
they do live; nothing reaches the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter

Answer = tuple[int, str] | Exception


class Replay(BaseAdapter):
    """A `requests` transport answering each URL path from a script: (HTTP status, body) or an exception
    to raise. A path's answers are used in order and the last one repeats; an unscripted path fails the
    test (nothing may reach the network)."""

    def __init__(self, script: Mapping[str, Sequence[Answer]]) -> None:
        super().__init__()
        self.script = {path: list(answers) for path, answers in script.items()}
        self.seen: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        url = str(request.url)
        path = urlsplit(url).path
        self.seen.append(url)
        if path not in self.script:
            raise AssertionError(f"unrecorded request: {url}")
        answers = self.script[path]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        response = requests.Response()
        response.status_code, response._content, response.url, response.request = status, body.encode(), url, request
        response.reason = HTTPStatus(status).phrase
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self) -> None:
        pass

    def queries(self, path: str) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(u).query) for u in self.seen if urlsplit(u).path == path]


def linear_perpetual(venue_id: str, contract_size: float | None) -> dict:
    """A linear BTC/USDT perpetual as ccxt describes it; `contract_size` from the venue's contract spec."""
    return {
        "id": venue_id,
        "symbol": "BTC/USDT:USDT",
        "base": "BTC",
        "quote": "USDT",
        "settle": "USDT",
        "baseId": "BTC",
        "quoteId": "USDT",
        "settleId": "USDT",
        "type": "swap",
        "spot": False,
        "margin": False,
        "swap": True,
        "future": False,
        "option": False,
        "contract": True,
        "linear": True,
        "inverse": False,
        "contractSize": contract_size,
        "active": True,
        "info": {},
    }
