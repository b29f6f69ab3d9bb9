"""Attack suite against a running feedbackml server, loopback only, bounded in count and time.

    python serve/attack.py --url http://127.0.0.1:8000 --key KEY [--read-timeout 10]

Each case prints PASS or FAIL with what it saw; the summary gives cases tried/passed/failed, and the exit
status is 1 when any case failed. ``--read-timeout`` is the server's FEEDBACKML_HEADER_TIMEOUT_S /
FEEDBACKML_BODY_TIMEOUT_S (whichever is larger): slow clients must be answered or dropped within it plus a grace.
Never point it at a server holding real comments: it sends only made-up text, but it does load the server.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

MARKER_TEXT = "攻击套件的评论原文不得回显"
LONG_TEXT = ("审批流程太长,采购部门总说与我无关,数据要在两个系统里各录一遍。" * 70)[:2000]
GRACE_S = 3.0
MAX_CASE_S = 90.0


class Target:
    def __init__(self, host: str, port: int, key: str, read_timeout: float) -> None:
        self.host, self.port, self.key, self.read_timeout = host, port, key, read_timeout

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def raw(self, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        """Send bytes, read one response (until close or a complete Content-Length body)."""
        with self.connect(timeout) as sock:
            sock.sendall(data)
            return read_response(sock)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        head = {"Host": f"{self.host}:{self.port}", "Connection": "close", **(headers or {})}
        if body is not None:
            head.setdefault("Content-Type", "application/json")
            head["Content-Length"] = str(len(body))
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
        return self.raw(f"{method} {path} HTTP/1.1\r\n{lines}\r\n".encode() + (body or b""), timeout=60)

    def classify(self, body: object) -> tuple[int, dict[str, str], bytes]:
        data = json.dumps(body, ensure_ascii=False).encode()
        return self.request("POST", "/v1/classify", data, {"Authorization": f"Bearer {self.key}"})


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/"):
        return 0, {}, b""
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def one_error_shape(status: int, headers: dict[str, str], body: bytes, expected: int) -> str | None:
    """None when the answer is the expected status in the one error shape with a request id, else why not."""
    if status != expected:
        return f"status {status}, expected {expected}"
    try:
        data = json.loads(body)
    except ValueError:
        return "body is not JSON"
    if set(data) != {"error_type", "message", "index", "request_id"}:
        return f"not the error shape: {sorted(data)}"
    if headers.get("x-request-id") != data["request_id"]:
        return "X-Request-ID missing or different from request_id"
    if MARKER_TEXT in body.decode("utf-8", "replace"):
        return "submitted text echoed"
    return None


def case_overload(t: Target) -> str | None:
    """40 concurrent one-item 2,000-character requests with evidence: only 200 and 429 (each with
    Retry-After), then a trivial request within 1 s."""
    body = {"items": [{"id": "a", "text": LONG_TEXT}], "options": {"evidence": True}}
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(lambda _: t.classify(body), range(40)))
    codes = sorted(status for status, _, _ in answers)
    if set(codes) - {200, 429}:
        return f"statuses {codes}"
    if any("retry-after" not in headers for status, headers, _ in answers if status == 429):
        return "a 429 without Retry-After"
    started = time.perf_counter()
    status, _, _ = t.classify({"items": [{"id": "b", "text": "好"}]})
    took = time.perf_counter() - started
    if status != 200 or took > 1.0:
        return f"trivial request after the burst: {status} in {took:.2f} s"
    print(f"    {codes.count(200)}×200, {codes.count(429)}×429; trivial request after: {took:.2f} s")
    return None


def _slow(t: Target, first: bytes, drip: bytes) -> str | None:
    """Send ``first`` then one byte of ``drip`` each second; the server must answer 408 or close in time."""
    limit = t.read_timeout + GRACE_S
    started = time.perf_counter()
    with t.connect(timeout=limit) as sock:
        sock.sendall(first)
        sock.settimeout(1.0)
        for byte in drip:
            if time.perf_counter() - started > limit:
                return f"still open after {limit:.0f} s"
            try:
                sock.sendall(bytes([byte]))
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return None  # closed on us: dropped
            if not data:
                return None
            status = int(data.split()[1]) if data.startswith(b"HTTP/") else 0
            return None if status == 408 else f"answered {status} instead of 408"
    return "the drip ended before the server reacted (raise --read-timeout?)"


def case_slow_body(t: Target) -> str | None:
    head = (
        f"POST /v1/classify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
    )
    return _slow(t, head.encode(), b" " * 4000)


def case_slow_headers(t: Target) -> str | None:
    return _slow(t, b"GET /livez HTTP/1.1\r\n", b"X-Drip: " + b"a" * 4000)


def case_echo_of_keys(t: Target) -> str | None:
    for body in (
        {"items": [{"id": "a", "text": "好", MARKER_TEXT: "x"}]},
        {"items": [{"id": "a", "text": "好"}], MARKER_TEXT: 1},
        {"items": [{"id": "a", "text": "好"}], "options": {MARKER_TEXT: True}},
    ):
        status, headers, data = t.classify(body)
        if (problem := one_error_shape(status, headers, data, 422)) is not None:
            return problem
    return None


def case_smuggling(t: Target) -> str | None:
    """Content-Length and chunked Transfer-Encoding together, a second request hidden in the body."""
    hidden = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
    chunked = b"0\r\n\r\n" + hidden
    data = (
        b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {t.key}\r\nContent-Length: {len(chunked)}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunked
    )
    with t.connect() as sock:
        sock.sendall(data)
        status, headers, body = read_response(sock)
        if (problem := one_error_shape(status, headers, body, 400)) is not None:
            return problem
        sock.settimeout(2.0)
        try:
            extra = sock.recv(65536)
        except (TimeoutError, OSError):
            extra = b""
    return "the hidden request was answered" if extra.startswith(b"HTTP/") else None


def case_head_probes(t: Target) -> str | None:
    for path in ("/livez", "/readyz"):
        status, _, _ = t.request("HEAD", path)
        if status != 200:
            return f"HEAD {path}: {status}"
    return None


def _count_500(t: Target) -> float:
    _, _, body = t.request("GET", "/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("feedbackml_requests_total{") and 'status="500"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def case_abort_mid_body(t: Target) -> str | None:
    before = _count_500(t)
    for _ in range(3):
        with t.connect() as sock:
            head = (
                f"POST /v1/classify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.key}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            )
            sock.sendall(head.encode() + b'{"items": [{"id": "a", "text": "')
            time.sleep(0.2)
    time.sleep(0.5)
    after = _count_500(t)
    return None if after == before else f"status=500 count rose from {before} to {after}"


def case_oversized_body(t: Target) -> str | None:
    body = json.dumps({"items": [{"id": "a", "text": MARKER_TEXT * 200_000}]}, ensure_ascii=False).encode()
    head = (
        f"POST /v1/classify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with t.connect() as sock:
        sock.sendall(head.encode())
        with_body = threading.Thread(target=lambda: _send_quietly(sock, body), daemon=True)
        with_body.start()
        status, headers, data = read_response(sock)
    return one_error_shape(status, headers, data, 413)


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the server refused and closed: expected
        sock.sendall(data)


def case_bad_json(t: Target) -> str | None:
    status, headers, data = t.request(
        "POST", "/v1/classify", b'{"items": [' + MARKER_TEXT.encode(), {"Authorization": f"Bearer {t.key}"}
    )
    return one_error_shape(status, headers, data, 400)


def case_protocol_400(t: Target) -> str | None:
    status, headers, data = t.raw(b"NOT HTTP AT ALL\r\n\r\n")
    return one_error_shape(status, headers, data, 400)


CASES: dict[str, Callable[[Target], str | None]] = {
    "overload with evidence": case_overload,
    "slow body": case_slow_body,
    "slow headers": case_slow_headers,
    "echo of keys": case_echo_of_keys,
    "CL+TE smuggling": case_smuggling,
    "HEAD probes": case_head_probes,
    "abort mid-body": case_abort_mid_body,
    "oversized body": case_oversized_body,
    "bad JSON": case_bad_json,
    "protocol-level 400": case_protocol_400,
}


def loopback_target(url: str, key: str, read_timeout: float) -> Target:
    """Refuse anything but a loopback address: this suite is for one's own server."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"error: expected http://127.0.0.1:PORT, got {url!r}")
    addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"error: {parts.hostname} is not a loopback address; this suite only attacks 127.0.0.1/::1")
    host = sorted(addresses)[0]
    return Target(host, parts.port or 80, key, read_timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="an API key of the server")
    parser.add_argument("--read-timeout", type=float, default=20.0, help="the server's header/body read timeout")
    args = parser.parse_args(argv)
    target = loopback_target(args.url, args.key, args.read_timeout)
    # the two slow-client cases wait for the server's deadline; they run beside the others
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_timed, case, target) for name, case in CASES.items() if "slow" in name}
        results = {name: _timed(case, target) for name, case in CASES.items() if "slow" not in name}
        results.update({name: future.result() for name, future in futures.items()})
    failed = 0
    for name in CASES:
        problem, took = results[name]
        failed += problem is not None
        print(f"{'FAIL' if problem else 'PASS'}  {name} ({took:.1f} s){': ' + problem if problem else ''}")
    print(f"cases tried: {len(CASES)}, passed: {len(CASES) - failed}, failed: {failed}")
    return 1 if failed else 0


def _timed(case: Callable[[Target], str | None], target: Target) -> tuple[str | None, float]:
    started = time.perf_counter()
    try:
        problem = case(target)
    except Exception as error:  # a case that crashed is a failed case, not a crashed suite
        problem = f"{type(error).__name__}: {error}"
    took = time.perf_counter() - started
    if took > MAX_CASE_S:
        problem = problem or f"took {took:.0f} s"
    return problem, took


if __name__ == "__main__":
    sys.exit(main())
