"""Prometheus errors as one short line for a user: the failed request's cause, never
its URL-encoded PromQL or an HTML error page, and never a URL's password."""

from __future__ import annotations

import re

import requests


def redacted(url: str) -> str:
    """``url`` without a password (``http://user:secret@host`` -> ``http://user:***@host``;
    a user alone may be a token: ``http://***@host``). Found without parsing the URL,
    which may not parse: the user info runs to the last ``@``, as a password may hold
    ``@`` and ``/`` (a path with an ``@`` is hidden too: better too much than a secret)."""
    scheme, slashes, rest = url.partition("//")
    info, at, host = rest.rpartition("@")
    if not (slashes and at):
        return url
    user, colon, _ = info.partition(":")
    return f"{scheme}//{user}:***@{host}" if colon else f"{scheme}//***@{host}"


def readable(error: BaseException) -> str:
    """One short line for a failed request: the cause (connection refused, no such host,
    timed out, HTTP status), never the request URL with its URL-encoded PromQL, never an
    HTML error page."""
    if isinstance(error, requests.exceptions.RetryError):  # 5xx answers, retried
        cause = error.args[0] if error.args else error
        text = str(getattr(cause, "reason", cause))
        status = re.search(r"too many (\d{3}) error responses", text)
        return f"HTTP {status.group(1)} (after retries)" if status else "failed after retries"
    if isinstance(error, requests.HTTPError) and error.response is not None:
        reply = error.response
        return f"HTTP {reply.status_code} {reply.reason}".strip()
    if isinstance(error, requests.ConnectionError):
        cause = error.args[0] if error.args else error
        reason = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps the cause
        text = str(reason)
        for known in ("Connection refused", "Name or service not known", "timed out",
                      "No route to host", "certificate verify failed"):  # fmt: skip
            if known in text:
                return known.lower()
        return "cannot connect"
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, RecursionError):
        return "not a Prometheus API answer: JSON nested too deep"
    if isinstance(error, ValueError) and "Expecting value" in str(error):
        return "not a Prometheus API (the answer is not JSON: a login page or a proxy?)"
    text = " ".join(str(error).split())
    coded = re.fullmatch(r"HTTP Status Code (\d{3}) \(b?['\"]?(.*?)['\"]?\)", text)
    if coded:  # prometheus_api_client's own message, with the raw body as a bytes literal
        body = " ".join(coded.group(2).replace("\\n", " ").split())  # escaped newlines too
        if not body or "<" in body:
            return f"HTTP {coded.group(1)}"
        return f"HTTP {coded.group(1)}: {body[:120]}"
    if "<html" in text.lower() or "<!doctype" in text.lower():
        status = re.search(r"\b([45]\d\d)\b", text)
        return f"HTTP {status.group(1)}: not a Prometheus API" if status else "not a Prometheus API"
    return text[:200]
