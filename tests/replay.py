"""Offline HTTP replay for the live-source tests, through vcrpy (record mode 'none').

The `http` fixture (conftest) opens an empty tape with `capitulation.sources.tape.replaying`, so tests run
the product's own replay path; `HttpReplay.script` appends recorded answers to its cassette. vcrpy patches
the HTTP stack underneath `requests` (ccxt's sync transport), so ccxt's own URL building, status handling
and parsing run as they do live, and a request with no recorded answer fails the test: nothing reaches the
network. Answers match on method and URL path (the host is a placeholder); each is played once, in order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from vcr.cassette import Cassette
from vcr.request import Request

from capitulation.sources import tape
from capitulation.sources.http import Backoff
from capitulation.sources.http import session as http_session

Answer = tuple[int, str]
MATCH_ON = ("method", "path")
REPEATS = 8  # the last answer of a path is recorded this many times, so retries keep getting it


class HttpReplay:
    """Recorded (HTTP status, body) answers by URL path, played back by vcrpy; `seen` lists the URLs asked."""

    def __init__(self, cassette: Cassette, folder: Path) -> None:
        self.cassette, self.folder = cassette, folder
        self.seen: list[str] = []
        play = cassette.play_response

        def played(request: Request) -> dict:
            self.seen.append(request.uri)
            return play(request)

        cassette.play_response = played  # type: ignore[method-assign]
        cassette.rewound = True  # vcrpy plays back only a cassette it loaded; this one is filled in memory

    def script(self, answers: Mapping[str, Sequence[Answer]], method: str = "GET") -> HttpReplay:
        """Record each path's answers in order (the last one `REPEATS` times)."""
        for path, seq in answers.items():
            for status, body in [*seq, *[seq[-1]] * (REPEATS - 1)]:
                self.cassette.append(
                    Request(method, f"https://replay.invalid{path}", None, {}), _response(status, body)
                )
        return self

    def queries(self, path: str) -> list[dict[str, list[str]]]:
        """The query parameters of each request made to `path`, in order."""
        return [parse_qs(urlsplit(u).query) for u in self.seen if urlsplit(u).path == path]


@contextmanager
def replayed(folder: Path, answers: Mapping[str, Sequence[Answer]] | None = None) -> Iterator[HttpReplay]:
    """A new tape in `folder` replayed through the product's `tape.replaying`, holding `answers`."""
    folder.mkdir(parents=True, exist_ok=True)
    with tape.replaying(folder, match_on=MATCH_ON) as cassette:
        yield HttpReplay(cassette, folder).script(answers or {})


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (a free port, never another interface) answering each path with its body,
    for the tests that record a tape: only a real server can be recorded."""

    def __init__(self, bodies: Mapping[str, str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = bodies.get(self.path)
                data = (body or "not found").encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.stopped = False

    def stop(self) -> None:
        if not self.stopped:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.stopped = True


class Offline(BaseAdapter):
    """A `requests` transport with no network: every request fails to resolve its host, as on a machine that is
    offline; `urls` lists the requests made."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def send(self, request: PreparedRequest, *args: object, **kwargs: object) -> Response:
        self.urls.append(str(request.url))
        raise requests.ConnectionError(f"Failed to resolve '{urlsplit(str(request.url)).hostname}' (offline)")

    def close(self) -> None:
        pass


def offline_session() -> tuple[requests.Session, Offline]:
    """`http.session()` whose transport is `Offline`, and that transport."""
    s, transport = http_session(), Offline()
    s.mount("https://", transport)
    s.mount("http://", transport)
    return s, transport


def no_wait() -> tuple[Backoff, list[float]]:
    """4 tries, waits of 1, 2, 4 s recorded instead of slept."""
    waits: list[float] = []
    return Backoff(attempts=4, first_delay_s=1.0, factor=2.0, sleep=waits.append), waits


def _response(status: int, body: str) -> dict:
    return {
        "status": {"code": status, "message": HTTPStatus(status).phrase},
        "headers": {"Content-Type": ["application/json"]},
        "body": {"string": body.encode()},
    }


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
