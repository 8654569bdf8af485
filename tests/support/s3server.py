"""A real S3-compatible HTTP server on loopback: moto's server application behind werkzeug.

Unlike moto's ThreadedMotoServer it binds a free port, logs every request (to count uploads),
can answer the next requests with a service error (throttling, 5xx), and closes the
connections clients keep alive when stopped, so an outage is an outage; ``start`` after
``stop`` serves again on the same port, with the same buckets.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
               "region_name": "us-east-1"}
ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str


class _Handler(MotoRequestHandler):
    def setup(self) -> None:
        super().setup()
        self.server.live.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.live.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def log_request(self, *args: Any) -> None:
        pass  # the request log below is the record


class S3Server:
    """moto's S3 on ``127.0.0.1``; ``endpoint_url`` is what clients are given."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[Request] = []
        self._failures: list[tuple[int, str, Callable[[Request], bool]]] = []
        self._lock = threading.Lock()
        self._app = DomainDispatcherApplication(create_backend_app)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        server = make_server("127.0.0.1", self.port, self._serve, threaded=True,
                             request_handler=_Handler)
        server.live = set()  # type: ignore[attr-defined]
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        for connection in list(server.live):  # type: ignore[attr-defined]
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(10)

    def fail_next(self, count: int, status: int, code: str,
                  when: Callable[[Request], bool] = lambda request: True) -> None:
        """Answer the next ``count`` requests ``when`` selects with this S3 error."""
        self._failures.extend([(status, code, when)] * count)

    def client(self, max_attempts: int = 1) -> Any:
        """A boto3 client of this server; one attempt per call unless told otherwise."""
        config = Config(retries={"total_max_attempts": max_attempts, "mode": "standard"},
                        connect_timeout=5, read_timeout=30)
        return boto3.client("s3", endpoint_url=self.endpoint_url, config=config,
                            **CREDENTIALS)

    def new_bucket(self) -> str:
        name = f"test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def writes(self, bucket: str, key: str) -> list[Request]:
        """The requests that wrote (PUT, POST) to one object."""
        return [r for r in self.requests
                if r.method in ("PUT", "POST") and r.path == f"/{bucket}/{key}"]

    def _serve(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                          environ.get("QUERY_STRING", ""))
        self.requests.append(request)
        with self._lock:  # parts of one upload arrive on several threads
            failure = next((f for f in self._failures if f[2](request)), None)
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            status, code, _ = failure
            _drain(environ)
            body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                    f"<Message>injected by the test</Message></Error>").encode()
            start_response(f"{status} Injected", [("Content-Type", "application/xml"),
                                                  ("Content-Length", str(len(body)))])
            return [body]
        result: Iterable[bytes] = self._app(environ, start_response)
        return result


def _drain(environ: Environ) -> None:
    """Read an unserved request's body, so the connection stays usable for the next one."""
    if environ.get("wsgi.input_terminated"):
        environ["wsgi.input"].read()
    elif environ.get("CONTENT_LENGTH"):
        environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))


def running() -> Iterator[S3Server]:
    """A started server, stopped afterwards (for fixtures)."""
    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()
