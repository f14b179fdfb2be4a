"""A Prometheus that cannot be read is one short line: no password, no URL-encoded
PromQL, no urllib3 retry chatter, no HTML page; a URL that is not http(s) is bad input."""

from __future__ import annotations

import pytest

from support.prom import free_port
from tuner.cli import main
from tuner.prometheus import redacted


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["eni-tuner", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    return int(ended.value.code or 0)


def test_passwords_never_leave_the_url() -> None:
    assert redacted("http://admin:s3cret@prom:9090/x") == "http://admin:***@prom:9090/x"
    assert redacted("https://prom:9090") == "https://prom:9090"


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
