"""kube_adapter.client: a client from --kubeconfig/--context, or one line naming the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes.config import kube_config

from kube_adapter.client import ClientSettings, connect
from pool_engine.errors import KubeconfigError

EXPORTER = [sys.executable, "-c", "from exporter.cli import main; main()"]


def kubeconfig(path: Path, *contexts: str) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": contexts[0],
        "clusters": [{"name": c, "cluster": {"server": f"https://{c}.example:6443"}} for c in contexts],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": c, "context": {"cluster": c, "user": "u"}} for c in contexts],
    }))  # fmt: skip
    return path


def refusal(settings: ClientSettings) -> KubeconfigError:
    """The error :func:`connect` refuses ``settings`` with."""
    with pytest.raises(KubeconfigError) as caught:
        connect(settings)
    return caught.value


def edited(path: Path, **fields: dict[str, str]) -> Path:
    """The kubeconfig at ``path`` with its first cluster's and user's fields updated."""
    document = json.loads(path.read_text())
    document["clusters"][0]["cluster"].update(fields.get("cluster", {}))
    document["users"][0]["user"].update(fields.get("user", {}))
    path.write_text(json.dumps(document))
    return path


def test_the_current_context_or_the_one_asked_for(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", "prod", "staging")
    assert connect(ClientSettings(path)).configuration.host == "https://prod.example:6443"
    chosen = connect(ClientSettings(path, "staging"))
    assert chosen.configuration.host == "https://staging.example:6443"
    assert list(chosen.configuration.api_key.values()) == ["Bearer t"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "this: [is not\n",
            "not valid YAML: expected ',' or ']', but got '<stream end>' at line 2, column 1",
        ),
        ("- a\n- list\n", "not a kubeconfig (no clusters/contexts/users)"),
        ("hello\n", "not a kubeconfig (no clusters/contexts/users)"),
        ("", "Invalid kube-config. {path} file is empty"),
        (
            "apiVersion: v1\nkind: Config\n",
            "Invalid kube-config file. Expected key current-context in {path}",
        ),
    ],
)
def test_a_malformed_kubeconfig_is_named_with_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    error = refusal(ClientSettings(path))
    assert str(error) == f"{path}: {problem.format(path=path)}"
    assert error.exit_code == 2


def test_a_binary_kubeconfig_is_bad_input_not_a_crash(tmp_path: Path) -> None:
    """Random bytes were a UnicodeDecodeError traceback, exit 1."""
    path = tmp_path / "config"
    path.write_bytes(b"\x99\xfe" + bytes(range(256)) * 4)
    error = refusal(ClientSettings(path))
    assert str(error) == f"{path}: not text (not UTF-8 at byte 0)"
    assert error.exit_code == 2


def test_a_missing_file_and_an_unknown_context_are_named(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match=f"^{tmp_path}/absent: no such file$"):
        connect(ClientSettings(tmp_path / "absent"))
    path = kubeconfig(tmp_path / "config", "prod", "staging")
    error = refusal(ClientSettings(path, "dev"))
    assert str(error) == f"{path}: no context 'dev' (contexts: prod, staging)"


def test_outside_a_cluster_without_a_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(tmp_path / "none"))
    error = refusal(ClientSettings())
    assert str(error) == (
        f"{tmp_path}/none: no such file, and not inside a cluster (KUBERNETES_SERVICE_HOST is not set)"
    )
    monkeypatch.setattr(
        kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig(tmp_path / "c", "ctx"))
    )
    assert connect(ClientSettings()).configuration.host == "https://ctx.example:6443"


@pytest.mark.parametrize(
    ("text", "flags", "message"),
    [
        ("this: [is not\n", [], "not valid YAML"),
        (None, ["--context", "nope"], "no context 'nope' (contexts: prod)"),
    ],
)
def test_the_exporter_says_it_in_one_line_and_exits_2(
    tmp_path: Path, text: str | None, flags: list[str], message: str
) -> None:
    path = tmp_path / "config"
    if text is None:
        kubeconfig(path, "prod")
    else:
        path.write_text(text)
    done = subprocess.run([*EXPORTER, "run", "--kubeconfig", str(path), *flags, "--listen", "127.0.0.1:0"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}: ") and message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def with_user(path: Path, user: dict[str, object], cluster: dict[str, object]) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://c.example:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))  # fmt: skip
    return path


def test_certificate_data_that_is_not_base64_is_bad_input(tmp_path: Path) -> None:
    """Found by an adversarial review (session 6): binascii.Error, a traceback, exit 1."""
    path = with_user(tmp_path / "config", {"token": "t"},
                     {"certificate-authority-data": "notbase64!!"})  # fmt: skip
    error = refusal(ClientSettings(path))
    assert str(error).startswith(f"{path}: a *-data field is not base64: ")
    assert error.exit_code == 2


def test_an_exec_plugin_that_fails_is_one_line(tmp_path: Path) -> None:
    """Found by an adversarial review (session 6): the client library logged the failure
    ('[Errno 2] No such file or directory: ...') and went on without credentials, so
    stderr had two lines and the error blamed the API server."""
    plugin = tmp_path / "no-such-plugin"
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin)}}
    path = with_user(tmp_path / "config", user, {})
    done = subprocess.run([*EXPORTER, "run", "--kubeconfig", str(path), "--listen", "127.0.0.1:0"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {path}: the exec plugin gave no credentials: "
        f"[Errno 2] No such file or directory: '{plugin}'"
    ]


def test_an_empty_kubeconfig_variable_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KUBECONFIG= (empty) named no file at all: ': no such file, ...'. kubectl reads
    ~/.kube/config then."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    error = refusal(ClientSettings())
    assert error.path == f"{tmp_path}/.kube/config"


def laughs(levels: int) -> str:
    """A kubeconfig whose aliases expand to 10**levels strings (a 'billion laughs')."""
    lines = ['l0: &l0 ["ha","ha","ha","ha","ha","ha","ha","ha","ha","ha"]']
    lines += [f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 10)}]" for k in range(1, levels)]
    return "\n".join(
        [
            *lines,
            f"clusters:\n- name: c\n  cluster: {{server: 'https://c.example', x: *l{levels - 1}}}",
        ]
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: " + "[" * 50_000 + "]" * 50_000 + "\n", "not valid YAML: nested too deep"),
        (laughs(7), "not valid YAML: its aliases expand to more than 1,000,000 values"),
    ],
    ids=["nested", "aliases"],
)
def test_a_kubeconfig_that_would_exhaust_the_reader_is_bad_input(
    tmp_path: Path, text: str, problem: str
) -> None:
    """Found by an adversarial review (session 8): nesting was a RecursionError traceback
    (exit 1); aliases expanding to 10**12 strings hung until memory ran out, as the client
    library formats every cluster, context and user as text (kubectl's YAML reader refuses
    excessive aliasing)."""
    path = tmp_path / "config"
    path.write_text(text)
    error = refusal(ClientSettings(path))
    assert str(error) == f"{path}: {problem}"
    assert error.exit_code == 2


@pytest.mark.parametrize(
    ("user", "cluster", "problem"),
    [
        ({}, {"certificate-authority-data": "aGVsbG8="},
         "certificate-authority is not PEM certificates (NO_CERTIFICATE_OR_CRL_FOUND)"),
        ({"client-certificate-data": "aGVsbG8=", "client-key-data": "aGVsbG8="}, {},
         "client-certificate and client-key are not a PEM certificate and its key"),
    ],
    ids=["ca", "client-certificate"],
)  # fmt: skip
def test_a_kubeconfig_whose_certificates_do_not_load_is_bad_input(
    tmp_path: Path, user: dict[str, str], cluster: dict[str, str], problem: str
) -> None:
    """Found by an adversarial review (session 8): 'hello' as certificate data was exit 4,
    'cannot reach the Kubernetes API', and `eni-exporter run` retried it for ever."""
    path = edited(kubeconfig(tmp_path / "config", "prod"), cluster=cluster, user=user)
    error = refusal(ClientSettings(path))
    assert str(error) == f"{path}: {problem}"
    assert error.exit_code == 2


@pytest.mark.parametrize(
    ("server", "problem"),
    [("", "server '' is not an http(s) URL"),
     ("127.0.0.1:6443", "server '127.0.0.1:6443' is not an http(s) URL"),
     ("ftp://h.example", "server 'ftp://h.example' is not an http(s) URL"),
     ("https://h.example:99999", "server 'https://h.example:99999' is not an http(s) URL"),
     ("https://a b", "server 'https://a b' is not an http(s) URL"),
     ("https://[::1", "not usable: Invalid IPv6 URL")],
    ids=["empty", "no-scheme", "ftp", "port", "space", "bracket"],
)  # fmt: skip
def test_a_server_that_is_no_url_is_bad_input(tmp_path: Path, server: str, problem: str) -> None:
    """Found by an adversarial review (session 8): exit 4 'cannot reach the Kubernetes API'
    (an empty server with urllib3's three-line FutureWarning first), and for an unclosed
    [IPv6 bracket a ValueError traceback (exit 1)."""
    path = edited(kubeconfig(tmp_path / "config", "prod"), cluster={"server": server})
    error = refusal(ClientSettings(path))
    assert str(error) == f"{path}: {problem}"
