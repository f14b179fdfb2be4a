"""Ready `kubectl annotate` lines: the changes of ``recommend`` for whoever applies them
by hand (``-o kubectl``, the lines under the table, the ``kubectl`` field of ``-o json``).

They write what ``eni-tuner apply`` writes, without its guardrails (max changes, the
NEC's max-attach, opt-out): each changed pair of the node's own history (a ``borrowed``
pair is a comment: ``apply --apply-borrowed``). With ``--schedule``, what ``apply
--schedule`` writes to NECs holding a stale schedule: each schedule in the annotation of
its mode (``eni-tuner switch`` then sets the pair), every other node of its own history
its pair and no stored schedule (else the switch would put the old blocks back). No
record for ``apply --rollback`` is written.

The lines are meant for ``sh``, and a trace's node names are whatever the file says: a
name that is not a Kubernetes node name (RFC 1123 subdomain) gets a comment, never a
command (``--all`` would annotate every NEC), and a comment keeps a line break of a name
escaped.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence

from kube_adapter.names import object_name
from kube_adapter.nec import SCHEDULE_KEY
from pool_engine.config import MAX_WARM_KEY, MIN_WARM_KEY, Mode
from pool_engine.warm_schedule import WarmSchedule
from tuner.recommendation import Recommendation, RecommendationStatus

CONTINUED = " \\\n    "
"""Between the arguments of a shell command broken over lines."""


def node_name(name: str) -> bool:
    """Whether ``name`` can name a node (and its NEC) in a Kubernetes cluster."""
    return object_name(name)


def writes(rec: Recommendation) -> bool:
    """Whether ``apply`` writes ``rec`` by default: a change of the node's own history.
    A ``borrowed`` pair (little history of its own) is shown, and written only with
    ``apply --apply-borrowed``; kubectl lines follow the same rule."""
    return rec.changed and rec.status is RecommendationStatus.RECOMMENDED


def command(rec: Recommendation, mode: Mode, between: str = " ") -> str | None:
    """The `kubectl annotate` command that sets ``rec``'s targets; ``between`` its
    arguments (e.g. :data:`CONTINUED`). None when ``apply`` would not write it or the
    name is no node's."""
    if not writes(rec) or not node_name(rec.node):
        return None
    # a pair in place of a schedule in force: the schedule goes, else it keeps switching
    ends = (f"{SCHEDULE_KEY[mode]}-",) if rec.current.schedule is not None else ()
    return between.join((
        f"kubectl annotate nec {shlex.quote(rec.node)}",
        f"{MIN_WARM_KEY[mode]}={rec.recommended.min_warm}",
        f"{MAX_WARM_KEY[mode]}={rec.recommended.max_warm}",
        *ends,
        "--overwrite",
    ))  # fmt: skip


def commented(text: str) -> str:
    """``text`` kept on one line of a shell comment (a line break would end it)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def not_a_node(name: str) -> str:
    """The comment in place of a command for a name that is no node's, quoted as JSON."""
    return f"# {json.dumps(name, ensure_ascii=False)}: not a Kubernetes node name: no command\n"


def to_kubectl(recs: Sequence[Recommendation], mode: Mode) -> str:
    """``-o kubectl``: a line per node to change; a borrowed pair as a comment."""
    out = []
    for rec in recs:
        if not rec.changed:
            continue
        line = command(rec, mode)
        if line is not None:
            out.append(line + "\n")
        elif not writes(rec):
            out.append(f"# {commented(rec.node)}: borrowed from similar nodes, not applied "
                       f"by default: {commented(rec.reason)}\n")  # fmt: skip
        else:
            out.append(not_a_node(rec.node))
    return "".join(out)


def stores(rec: Recommendation) -> bool:
    """Whether ``apply --schedule`` writes ``rec``'s node by default: a pair of its own
    history, changed or not (a stale stored schedule goes either way)."""
    return rec.status in (RecommendationStatus.RECOMMENDED, RecommendationStatus.UNCHANGED)


def schedule_line(rec: Recommendation, schedule: WarmSchedule | None, mode: Mode) -> str | None:
    """What ``apply --schedule`` writes to ``rec``'s NEC, as one command: ``schedule``
    (None: the node has none) stored, else the pair and no stored schedule. None when it
    writes nothing there or the name is no node's."""
    if not stores(rec) or not node_name(rec.node):
        return None
    if schedule is not None:
        return (f"kubectl annotate nec {shlex.quote(rec.node)} "
                f"{SCHEDULE_KEY[mode]}={shlex.quote(schedule.dumps())} --overwrite")  # fmt: skip
    return " ".join((
        f"kubectl annotate nec {shlex.quote(rec.node)}",
        f"{MIN_WARM_KEY[mode]}={rec.recommended.min_warm}",
        f"{MAX_WARM_KEY[mode]}={rec.recommended.max_warm}",
        f"{SCHEDULE_KEY[mode]}-",
        "--overwrite",
    ))  # fmt: skip


def to_kubectl_schedules(recs: Sequence[Recommendation], mode: Mode,
                         schedules: Mapping[str, tuple[WarmSchedule, str]]) -> str:  # fmt: skip
    """``recommend --schedule -o kubectl``: what ``apply --schedule`` writes, node by node
    (``schedules``: the scheduled nodes', each with the text of its blocks, shown in a
    comment above its line): a scheduled node's schedule (``eni-tuner switch`` sets its
    pair), every other node of its own history its pair, dropping a stored schedule."""
    out = []
    for rec in recs:
        schedule, text = schedules.get(rec.node, (None, ""))
        if schedule is not None:
            out.append(f"# {commented(rec.node)}: schedule (UTC) {text}\n")
        line = schedule_line(rec, schedule, mode)
        if line is not None:
            out.append(line + "\n")
        elif stores(rec):
            out.append(not_a_node(rec.node))
        elif rec.changed:
            out.append(f"# {commented(rec.node)}: {rec.status.value}, not applied by default: "
                       f"{commented(rec.reason)}\n")  # fmt: skip
    return "".join(out)


def under_table(recs: Sequence[Recommendation], mode: Mode) -> list[str]:
    """The lines under the table: how to apply by hand, one shell command per node to
    change, broken at its arguments so that it fits a narrow terminal and still pastes."""
    lines = [line for r in recs if (line := command(r, mode, CONTINUED)) is not None]
    # apply reads the route-eni pool unless told (recommend shows every pool)
    apply = "eni-tuner apply" + ("" if mode is Mode.ROUTE_ENI else f" --mode {mode.value}")
    out = []
    if lines:
        out += ["", f"# apply with `{apply}`, or by hand ({len(lines)} node(s)):"]
        out += lines
    borrowed = [r for r in recs if r.changed and not writes(r)]
    if borrowed:
        out += ["", f"# {len(borrowed)} borrowed pair(s) not applied by default: "
                    f"{apply} --apply-borrowed"]  # fmt: skip
    unnamed = [r for r in recs if writes(r) and not node_name(r.node)]
    if unnamed:
        names = ", ".join(json.dumps(r.node, ensure_ascii=False) for r in unnamed)
        out += ["", f"# {len(unnamed)} node(s) without a Kubernetes node name, no command: {names}"]
    return out
