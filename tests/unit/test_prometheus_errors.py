"""A Prometheus that cannot be read is one short line: no password, no URL-encoded
PromQL, no urllib3 retry chatter, no HTML page; a URL that is not http(s) is bad input."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from support.prom import free_port
from tuner.cli import main
from tuner.prometheus_errors import redacted


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["eni-tuner", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    return int(ended.value.code or 0)


def test_passwords_never_leave_the_url() -> None:
    assert redacted("http://admin:s3cret@prom:9090/x") == "http://admin:***@prom:9090/x"
    assert redacted("https://prom:9090") == "https://prom:9090"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:se/cret@127.0.0.1:1", "http://admin:***@127.0.0.1:1"),
        ("http://admin:p@ss/w@rd@prom:9090/x", "http://admin:***@prom:9090/x"),
        ("https://glpat-T0KEN@prom:9090", "https://***@prom:9090"),
    ],
    ids=["slash", "at-and-slash", "token-as-user"],
)
def test_a_password_with_a_slash_is_redacted_too(url: str, shown: str) -> None:
    """Found by an adversarial review (session 6): the password ran only to the first
    '/', so 'se/cret' was printed whole in the 'is not an http(s) URL' error."""
    assert redacted(url) == shown


def test_a_bad_url_with_a_slash_in_its_password_keeps_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://admin:se/cret@127.0.0.1:1"
    assert run_main(monkeypatch, "recommend", "--prometheus-url", url, "--start", "-1h") == 2
    err = capsys.readouterr().err
    assert "cret" not in err and len(err.strip().splitlines()) == 1


def test_an_unreachable_prometheus_is_one_clean_line_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: three urllib3 'Retrying ...' lines, each with the URL-encoded query, then an
    error line carrying the password from the URL."""
    url = f"http://admin:s3cret@127.0.0.1:{free_port()}"
    assert run_main(monkeypatch, "recommend", "--prometheus-url", url, "--start", "-1h") == 3
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"error: cannot read history: {redacted(url)}: connection refused"
    ]


@pytest.mark.parametrize("url", ["127.0.0.1:9090", "ftp://prom:21", "http://"])
def test_a_url_that_is_not_http_is_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    """Before: exit 3 ('No host specified'), as if Prometheus were down."""
    assert run_main(monkeypatch, "recommend", "--prometheus-url", url, "--start", "-1h") == 2
    err = capsys.readouterr().err
    assert "is not an http(s) URL" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "url",
    ["http://admin:s3cret@127.0.0.1:99999", "http://127.0.0.1:abc", "http://host:9091:80",
     "http://127.0.0.1:9090 ", "http://[::1", "http://admin:s3cret@[::1", "ftp://admin:s3cret@h",
     "http://%zz", "http://admin:s3cret@%zz:9090"],
)  # fmt: skip
def test_a_url_that_cannot_be_parsed_is_bad_input_and_keeps_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    """Before (adversarial review, session 5): exit 3 with urllib3's 'Failed to parse:
    http://admin:s3cret@...', or a traceback (exit 1) for an unclosed [IPv6 bracket; a host
    that urlsplit reads but urllib3 does not ('%zz') was still exit 3 (session 8)."""
    assert run_main(monkeypatch, "recommend", "--prometheus-url", url, "--start", "-1h") == 2
    err = capsys.readouterr().err
    assert "is not an http(s) URL" in err and len(err.strip().splitlines()) == 1
    assert "s3cret" not in err


class _Answer(http.server.BaseHTTPRequestHandler):
    """Answers every request with the server's status, content type and body."""

    def do_GET(self) -> None:
        status, kind, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serving() -> Iterator[Callable[[int, str, bytes], str]]:
    """A plain HTTP server on 127.0.0.1 that answers as told: what stands where a
    Prometheus should (a proxy failing, a login page)."""
    servers: list[http.server.HTTPServer] = []

    def serve(status: int, kind: str, body: bytes) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
        server.answer = (status, kind, body)  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://admin:s3cret@127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("status", "kind", "body", "said"),
    [
        (503, "text/plain", b"upstream down", "HTTP 503 (after retries)"),
        (200, "text/html", b"<html><body>Sign in</body></html>", "not a Prometheus API (the answer is not JSON: a login page or a proxy?)"),
        # session 6: the body's newline was printed as a literal '\\n'
        (404, "text/plain", b"404 page not found\n", "HTTP 404: 404 page not found"),
    ],
)  # fmt: skip
def test_what_stands_in_for_prometheus_is_named_in_words(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    serving: Callable[[int, str, bytes], str],
    status: int,
    kind: str,
    body: bytes,
    said: str,
) -> None:
    """Before: urllib3's 'Max retries exceeded with url: /api/v1/query?query=sum+by...'
    for a 503, and json's 'Expecting value: line 1 column 1 (char 0)' for a login page."""
    url = serving(status, kind, body)
    assert run_main(monkeypatch, "recommend", "--prometheus-url", url, "--start", "-1h") == 3
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: cannot read history: {redacted(url)}: {said}"
    ]


def test_a_window_of_centuries_is_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before (adversarial review, session 5): --start 0001-01-01 planned 852,000 range
    queries and grew past 1.8 GB before anyone stopped it."""
    url = f"http://127.0.0.1:{free_port()}"
    args = ("recommend", "--prometheus-url", url, "--start", "0001-01-01T00:00:00Z")
    assert run_main(monkeypatch, *args) == 2
    err = capsys.readouterr().err
    assert "steps of 30 s, more than 2,000,000" in err and len(err.strip().splitlines()) == 1


def test_a_step_longer_than_the_window_is_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: exit 0 and every node 'insufficient_history' (adversarial review)."""
    url = f"http://127.0.0.1:{free_port()}"
    args = ("recommend", "--prometheus-url", url, "--start", "-5m", "--step", "600")
    assert run_main(monkeypatch, *args) == 2
    err = capsys.readouterr().err
    assert "--step 600 is longer than the window (300 s)" in err


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"[1, 2, 3]", "not a Prometheus API answer"),
        (b'{"status": "success", "data": {"resultType": "scalar", "result": [1, "1"]}}',
         "not a Prometheus API answer"),
        (b'{"status": "error", "errorType": "bad_data", "error": "parse error"}',
         "not a Prometheus API answer"),
        # session 12: RecursionError, a traceback
        (b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, '
         b'"value": ' + b"[" * 5000 + b"]" * 5000 + b"}]}}", "nested too deep"),
    ],
    ids=["a-list", "a-scalar", "status-error", "nested-too-deep"],
)  # fmt: skip
def test_json_that_is_no_query_result_is_history_unavailable(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    serving: Callable[[int, str, bytes], str],
    body: bytes,
    said: str,
) -> None:
    """Found by an adversarial review (session 6): a JSON list, or a scalar where a
    vector belongs, was a TypeError or AttributeError traceback (exit 1); an error
    status was named as "'data'"."""
    url = serving(200, "application/json", body)
    assert run_main(monkeypatch, "recommend", "--prometheus-url", url, "--start", "-1h") == 3
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot read history: {redacted(url)}: ")
    assert said in lines[0]


def test_timestamps_that_are_no_times_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    serving: Callable[[int, str, bytes], str],
) -> None:
    """Every query answers the same series: an instant value of 1e400 (the first and last
    samples' timestamps, read as +inf) and range points some of whose timestamps lie
    outside the window or are NaN. Found by an adversarial review (session 6): a node's
    history was -inf hours (a ValueError traceback writing the JSON), or the trace's end
    was NaN (a traceback in the analysis)."""
    now = time.time()
    points = [[now - 600, "1"], [now - 570, "2"], [1e300, "1"], [-5, "1"], ["NaN", "1"]]
    result = [{"metric": {"node": "n1"}, "value": [now, "1e400"], "values": points}]
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})
    url = serving(200, "application/json", body.encode())
    monkeypatch.setattr("sys.argv", ["eni-tuner", "recommend", "--prometheus-url", url,
                                     "--start", "-1h", "--mode", "route-eni", "-o", "json"])  # fmt: skip
    main()  # exit 0: returns
    captured = capsys.readouterr()
    assert captured.err.startswith("warning: dropped 18 values from ")
    (node,) = json.loads(captured.out)
    assert node["node"] == "n1" and 0 <= node["history_hours"] <= 1


@pytest.mark.parametrize(
    "series",
    [
        {"metric": {"node": "n1"}, "value": [1, "1"], "values": None},
        {"metric": {"node": "n1"}, "value": [1, "1"], "values": [1, 2]},
        {"metric": {"node": "n1"}, "value": [5], "values": []},
        {"metric": {"node": "n1"}, "value": 5, "values": []},
        {"metric": None, "value": [1, "1"], "values": []},
        {"metric": [], "value": [1, "1"], "values": []},
        {"metric": {"node": 5}, "value": [1, "1"], "values": [[1, "1"]]},
    ],
    ids=["values-null", "values-flat", "value-short", "value-number", "metric-null",
         "metric-list", "node-number"],
)  # fmt: skip
def test_a_series_that_is_no_series_is_history_unavailable(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    serving: Callable[[int, str, bytes], str],
    series: dict[str, object],
) -> None:
    """Found by an adversarial review (session 7): a result list whose series have no
    list of points, a point of one number, or labels that are no label set was a
    TypeError, IndexError or AttributeError traceback (exit 1)."""
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [series]}})
    url = serving(200, "application/json", body.encode())
    assert run_main(monkeypatch, "recommend", "--prometheus-url", url, "--start", "-1h") == 3
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "not a Prometheus API answer" in lines[0]


class _Drip(http.server.BaseHTTPRequestHandler):
    """Headers, then a byte of the body every half second, for ever."""

    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        try:
            while True:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass


def timed_out_against(
    monkeypatch: pytest.MonkeyPatch, url: str, *servers: http.server.ThreadingHTTPServer
) -> float:
    """`recommend` from ``url`` (``servers`` serving) with --timeout 2 and no retry: exit
    3; its wall seconds. The servers are shut down after."""
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    args = ("recommend", "--prometheus-url", url, "--start", "-1h", "--timeout", "2",
            "--retries", "0")  # fmt: skip
    began = time.monotonic()
    try:
        assert run_main(monkeypatch, *args) == 3
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    return time.monotonic() - began


def test_an_answer_that_drips_in_times_out_as_a_whole(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before (adversarial review, session 12): --timeout bounded each read, so a server
    sending a byte a second held `recommend` for ever."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    assert timed_out_against(monkeypatch, url, server) < 20
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: cannot read history: {url}: timed out"
    ]


def test_an_answer_that_drips_in_behind_a_redirect_times_out_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before (adversarial review, session 12): the deadline held for the URL's origin
    only; a 307 to another (an ingress, http -> https) dripped for ever."""
    drip = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    target = f"http://127.0.0.1:{drip.server_address[1]}"

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

        def log_message(self, format: str, *args: object) -> None:
            pass

    front = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    url = f"http://127.0.0.1:{front.server_address[1]}"
    assert timed_out_against(monkeypatch, url, drip, front) < 20
    assert "timed out" in capsys.readouterr().err
