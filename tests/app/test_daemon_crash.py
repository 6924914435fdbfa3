"""SIGKILL the daemon mid-run, start it again: nothing is lost, no recorded part is sent twice.

CONTRACT §4: an entry is acknowledged only once every recipient's outcome is in Redis, and a
message whose connector died mid-flight is finished by the same consumer after its restart
without submitting again the parts the carrier had already accepted. CONTRACT §2: per recipient
`processing` → `sent` → one final status, repeats allowed only after a crash.

Each round: a fresh Redis database with 300 outbound entries (single-part; two-part GSM-7 and
UCS-2; five-part GSM-7; a few with three recipients; every destination unique), the simulator
(real subprocess, `--record`, seeded-random response and receipt delays) and the daemon (real
subprocess). The daemon gets SIGKILL at a seeded-random moment, some recipients `sent` and
others not; each round aims at a different moment:

1. once a random number of recipients is `sent`;
2. then, while a multi-part recipient has some parts recorded and others not;
3. while intake is still reading the outbound stream (one entry per batch).

Redis is then snapshotted (what the first daemon recorded), the daemon is started again with
the same configuration and consumer name, the round waits until every recipient is `delivered`
and stops the daemon with SIGTERM (exit 0 within its shutdown timeout). The simulator's record
says which parts the carrier accepted more than once. A part is identified by its destination,
its UDH sequence number and its bytes after the UDH (a message re-planned after the restart may
get a new concatenation reference, so whole short_message bytes would hide a duplicate). Only
parts whose submit_sm_resp never reached Redis may be accepted twice, at most once each before
the restart, so duplicates are bounded by the parts in flight at the kill (window × binds).

`CRASH_SEED=N` replays one seed; the summary of each round is printed (`pytest -s`).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.processes import (
    Process,
    Simulator,
    daemon_config,
    start_daemon,
    start_simulator,
    wait_for,
)

CARRIER = "airtel-cd"
GROUP = "connector"
ROUNDS = 3
ENTRIES = 300
WINDOW = 20
BINDS = 2
TPS = 300
SHUTDOWN_TIMEOUT_S = 5.0
RECEIPT_DELAYS_S = (0.0, 0.05)  # 0: receipts race their submit_sm_resp into Redis
RESPONSE_DELAYS_S = (0.0, 0.01, 0.03)
KILL_MODES = ("sent", "between-parts", "during-intake")  # round 1, 2, 3
FIRST_RUN_TIMEOUT_S = 20.0
FINISH_TIMEOUT_S = 30.0
FINAL = frozenset({"delivered", "undelivered", "expired", "rejected", "failed"})
ORDER = {"processing": 0, "sent": 1}  # finals rank 2

# Seeds that once exposed a bug, replayed by every run (none so far).
REGRESSION_SEEDS: tuple[int, ...] = ()

_LONG_GSM7 = (
    "Lisoloo crash test: this long GSM-7 text needs several concatenated parts on the wire. " * 9
)
_LONG_UCS2 = "Mbote ✓ ceci est un message UCS-2 en deux parties, à reconstituer chez le client. "


# Recipients with some parts accepted and recorded and at least two still to come, so that a
# kill right after this finds them so (the test's own Redis only).
_PARTLY_RECORDED_LUA = """
local n = 0
for _, key in ipairs(redis.call('KEYS', ARGV[1])) do
  local v = redis.call('HMGET', key, 'parts', 'acc', 'st')
  if v[1] and v[2] and not v[3] and tonumber(v[2]) > 0
      and tonumber(v[2]) + 2 <= tonumber(v[1]) then
    n = n + 1
  end
end
return n
"""


@dataclass
class Recipient:
    message_id: str
    to: str
    entry: str  # outbound stream id
    index: int  # in the entry's `to`
    parts: int  # expected


@dataclass
class Round:
    number: int
    seed: int
    recipients: dict[tuple[str, str], Recipient] = field(default_factory=dict)


@pytest.fixture
def cleanup() -> Iterator[list[Process]]:
    """Every process a round starts; whatever is still running at the end is killed."""
    processes: list[Process] = []
    yield processes
    for process in processes:
        process.close()


def _workload(number: int) -> list[tuple[dict[str, Any], int]]:
    """The round's outbound entries, each with the parts each of its recipients needs."""
    entries: list[tuple[dict[str, Any], int]] = []
    serial = 0
    for i in range(ENTRIES):
        to = []
        for _ in range(3 if i % 25 == 7 else 1):
            to.append(f"+24399{number}{serial:06d}")
            serial += 1
        head = f"r{number} e{i:04d} "
        if i % 20 == 13:
            text, parts = (head + _LONG_GSM7)[:700], 5  # 700 GSM-7 characters: 5 × 153
        elif i % 10 == 3:
            text, parts = (head + _LONG_GSM7)[:300], 2  # 300 GSM-7 characters: 2 × 153
        elif i % 30 == 11:
            text, parts = (head + _LONG_UCS2)[:100], 2  # 100 UCS-2 characters: 2 × 67
        else:
            text, parts = head + "hello from Lisoloo", 1
        entry = {
            "message_id": f"crash-r{number}-{i:04d}",
            "to": to,
            "message": text,
            "sender_id": "MYAPP",
        }
        entries.append((entry, parts))
    return entries


def _enqueue(client: redis.Redis, game: Round) -> None:
    pipe = client.pipeline(transaction=False)
    entries = _workload(game.number)
    for entry, _ in entries:
        pipe.xadd("sms:outbound", {"data": json.dumps(entry)})
    for (entry, parts), raw_id in zip(entries, pipe.execute(), strict=True):
        entry_id = _text(raw_id)
        for index, to in enumerate(entry["to"]):
            game.recipients[entry["message_id"], to] = Recipient(
                entry["message_id"], to, entry_id, index, parts
            )


class StatusWatch:
    """Reads `sms:status` incrementally; events per recipient, in stream order."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.last = "0-0"
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.by_recipient: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        self.counts: Counter[str] = Counter()
        self.final: set[tuple[str, str]] = set()

    def poll(self) -> None:
        for _ in range(1000):
            batch = self.client.xrange("sms:status", min=f"({self.last}", count=2000)
            if not batch:
                return
            for raw_id, fields in batch:
                assert fields is not None
                event_id = _text(raw_id)
                event = json.loads(fields[b"data"])
                self.last = event_id
                self.events.append((event_id, event))
                key = (event["message_id"], event["to"])
                self.by_recipient[key].append((event_id, event["status"]))
                self.counts[event["status"]] += 1
                if event["status"] in FINAL:
                    self.final.add(key)


def _recorded_parts(client: redis.Redis) -> dict[tuple[str, int, int], str]:
    """Every part whose submit_sm_resp is in Redis: (entry id, index, k) → carrier's id."""
    parts: dict[tuple[str, int, int], str] = {}
    for key in client.scan_iter(match="{sms:outbound}:r:*", count=1000):
        entry, index = _text(key).rsplit(":", 2)[1:]
        for name, value in client.hgetall(key).items():
            field_name = _text(name)
            if field_name.startswith("a") and field_name[1:].isdigit():
                parts[entry, int(index), int(field_name[1:])] = _text(value)
    return parts


def _unread(client: redis.Redis) -> int:
    """Outbound entries the intake has not read yet (the group's lag)."""
    groups = client.xinfo_groups("sms:outbound")
    return int(groups[0]["lag"] or 0) if groups else int(client.xlen("sms:outbound"))


def _read_not_taken(client: redis.Redis) -> int:
    """Outbound entries read (pending) whose recipients were never written (no entry key)."""
    pending = client.xpending_range("sms:outbound", GROUP, min="-", max="+", count=100_000)
    ids = [_text(p["message_id"]) for p in pending]
    return sum(1 for i in ids if not client.exists(f"{{sms:outbound}}:entry:{i}"))


def _text(value: object) -> str:
    """A reply's bytes as text."""
    if isinstance(value, bytes):
        return value.decode()
    assert isinstance(value, str), value
    return value


@dataclass(frozen=True)
class Accepted:
    """One line of the simulator's record."""

    message_id: str
    destination: str
    seq: int  # UDH sequence number (0: no UDH)
    body: str  # short_message after the UDH, hex
    ts: float
    ref: int  # UDH concatenation reference and total (0 and 1: no UDH)
    total: int

    @property
    def part(self) -> tuple[str, int, str]:
        return (self.destination, self.seq, self.body)


def _read_record(path: Path) -> list[Accepted]:
    accepted = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        short_message = bytes.fromhex(record["short_message"])
        udh = record.get("udh") or {"seq": 0, "ref": 0, "total": 1}
        if record.get("udh"):
            short_message = short_message[1 + short_message[0] :]
        accepted.append(
            Accepted(
                record["message_id"],
                record["destination"],
                udh["seq"],
                short_message.hex(),
                record["ts"],
                udh["ref"],
                udh["total"],
            )
        )
    return accepted


def _wait(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    processes: list[Process],
    watch: StatusWatch,
) -> None:
    wait_for(
        condition,
        timeout_s,
        what,
        processes,
        interval_s=0.003,
        poll=watch.poll,
        detail=lambda: f"statuses {dict(watch.counts)}",
    )


def _check_order(game: Round, watch: StatusWatch, crash_id: str) -> int:
    """Contract order per recipient; returns how many events were post-crash repeats."""
    repeats = 0
    problems: list[str] = []
    for key, events in watch.by_recipient.items():
        seen: set[str] = set()
        rank = -1
        finals = 0
        for event_id, status in events:
            after_crash = _stream_id(event_id) > _stream_id(crash_id)
            if finals:
                problems.append(f"{key}: {status} after a final status: {events}")
                break
            if status in FINAL:
                finals += 1
                if status != "delivered" or "sent" not in seen:
                    problems.append(f"{key}: {status} without `sent` before it: {events}")
                rank = 2
            elif status in seen:
                if not after_crash:
                    problems.append(f"{key}: {status} repeated before the crash: {events}")
                repeats += 1
            elif ORDER[status] < rank:
                problems.append(f"{key}: {status} out of order: {events}")
            else:
                rank = ORDER[status]
            seen.add(status)
        if events[0][1] != "processing":
            problems.append(f"{key}: does not start with processing: {events}")
        if finals != 1:
            problems.append(f"{key}: {finals} final statuses: {events}")
    unknown = set(watch.by_recipient) - set(game.recipients)
    assert not unknown, f"events for recipients never sent: {sorted(unknown)[:5]}"
    assert not problems, f"{len(problems)} order violations, e.g.\n" + "\n".join(problems[:10])
    return repeats


def _stream_id(event_id: str) -> tuple[int, int]:
    ms, seq = event_id.split("-")
    return int(ms), int(seq)


def _check_redis_drained(client: redis.Redis, total: int) -> None:
    pending = client.xpending("sms:outbound", GROUP)["pending"]
    assert pending == 0, f"{pending} outbound entries still pending"
    queued = 0
    for lane in ("high", "normal", "low"):
        stream = f"{{sms:outbound}}:q:{CARRIER}:{lane}"
        if client.exists(stream):
            pending = client.xpending(stream, GROUP)["pending"]
            assert pending == 0, f"{pending} work items still pending on {stream}"
            queued += client.xlen(stream)
    # Intake wrote each recipient's work exactly once, the replay after the crash included.
    assert queued == total, f"{queued} work items for {total} recipients"
    left = list(client.scan_iter(match="{sms:outbound}:entry:*"))
    assert not left, f"entries never counted down: {left[:5]}"
    assert client.xlen("sms:dead") == 0


def _check_parts(
    game: Round,
    watch: StatusWatch,
    at_crash: dict[tuple[str, int, int], str],
    final: dict[tuple[str, int, int], str],
    accepted: list[Accepted],
    restart_wall: float,
) -> int:
    """Every part accepted, none recorded then sent again; returns the number of duplicates."""
    by_id = {a.message_id: a for a in accepted}
    assert len(by_id) == len(accepted), "the simulator reused a message id"
    by_part: dict[tuple[str, int, str], list[Accepted]] = defaultdict(list)
    for a in accepted:
        by_part[a.part].append(a)
    problems: list[str] = []
    recorded_parts: set[tuple[str, int, str]] = set()
    for recipient in game.recipients.values():
        events = [s for _, s in watch.by_recipient[recipient.message_id, recipient.to]]
        delivered = [
            e
            for _, e in watch.events
            if e["status"] == "delivered"
            and (e["message_id"], e["to"]) == (recipient.message_id, recipient.to)
        ]
        assert delivered, f"{recipient}: no delivered event ({events})"
        n = delivered[-1]["parts"]
        if n != recipient.parts:
            problems.append(f"{recipient}: {n} parts, expected {recipient.parts}")
        ids = [final.get((recipient.entry, recipient.index, k)) for k in range(n)]
        if None in ids:
            problems.append(f"{recipient}: parts not recorded: {ids}")
            continue
        if delivered[-1]["smsc_ids"] != ids:
            problems.append(f"{recipient}: delivered smsc_ids {delivered[-1]['smsc_ids']} != {ids}")
        # The parts that count (recorded, before or after the crash) make one concatenated
        # message: one reference, the right total, each sequence number once.
        records = [by_id[i] for i in ids if i in by_id]
        if n > 1 and [(a.ref, a.total, a.seq) for a in records] != [
            (records[0].ref, n, k + 1) for k in range(n)
        ]:
            problems.append(f"{recipient}: recorded parts do not concatenate: {records}")
        for k, smsc_id in enumerate(ids):
            assert smsc_id is not None
            record = by_id.get(smsc_id)
            if record is None:
                problems.append(f"{recipient} part {k}: id {smsc_id} not in the simulator record")
                continue
            if record.destination != recipient.to.lstrip("+"):
                problems.append(f"{recipient} part {k}: id {smsc_id} went to {record.destination}")
            recorded_parts.add(record.part)
            same = by_part[record.part]
            before = (recipient.entry, recipient.index, k) in at_crash
            if before and at_crash[recipient.entry, recipient.index, k] != smsc_id:
                problems.append(f"{recipient} part {k}: recorded id changed after the crash")
            if len(same) == 1:
                continue
            # A duplicate: only a part whose response never reached Redis may be sent again,
            # so the recorded acceptance is the last one, and the others came before the
            # restart (parts in flight when the first daemon died).
            if before:
                problems.append(
                    f"{recipient} part {k}: recorded ({smsc_id}) before the crash, yet "
                    f"accepted {len(same)} times: {same}"
                )
            if max(same, key=lambda a: a.ts) is not record:
                problems.append(f"{recipient} part {k}: recorded {smsc_id} is not the last: {same}")
            late = [a for a in same if a is not record and a.ts >= restart_wall]
            if late:
                problems.append(f"{recipient} part {k}: sent twice after the restart: {same}")
            if sum(1 for a in same if a.ts < restart_wall) > 1:
                problems.append(f"{recipient} part {k}: sent twice before the crash: {same}")
    stray = set(by_part) - recorded_parts
    if stray:
        problems.append(
            f"{len(stray)} accepted parts belong to no recorded part: {sorted(stray)[:3]}"
        )
    assert not problems, f"{len(problems)} part problems, e.g.\n" + "\n".join(problems[:10])
    return sum(len(same) - 1 for same in by_part.values())


def _play(
    game: Round, client: redis.Redis, redis_url: str, directory: Path, processes: list[Process]
) -> dict[str, Any]:
    rng = random.Random(game.seed * 1000 + game.number)
    partly_recorded = client.register_script(_PARTLY_RECORDED_LUA)
    started = time.monotonic()
    client.flushall()
    _enqueue(client, game)
    total = len(game.recipients)
    record = directory / "record.jsonl"
    mode = KILL_MODES[(game.number - 1) % len(KILL_MODES)]
    # A response delay keeps parts in flight (unanswered) when the kill lands.
    response_delay = rng.choice(RESPONSE_DELAYS_S)
    receipt_delay = rng.choice(RECEIPT_DELAYS_S)
    simulator: Simulator = start_simulator(
        directory,
        "--system-id",
        "lisoloo",
        "--password",
        "pw",
        "--record",
        str(record),
        "--receipt-delay",
        str(receipt_delay),
        "--response-delay",
        str(response_delay),
        name="simulator",
    )
    processes.append(simulator)
    config = directory / "connector.toml"
    config.write_text(
        daemon_config(
            redis_url,
            simulator.port,
            carrier=CARRIER,
            tps=TPS,
            window=WINDOW,
            binds=BINDS,
            shutdown_timeout_s=SHUTDOWN_TIMEOUT_S,
            # One entry per intake batch lets sending start while intake is still reading.
            batch_size=1 if mode == "during-intake" else 256,
        )
    )
    watch = StatusWatch(client)
    first = start_daemon(config, directory, name="daemon-1")
    processes.append(first)
    target = rng.randint(max(1, total // 20), total * 7 // 10)
    if mode == "sent":
        # Once a random number of recipients is sent.
        _wait(
            lambda: watch.counts["sent"] >= target,
            FIRST_RUN_TIMEOUT_S,
            f"{target} recipients sent",
            [simulator, first],
            watch,
        )
    elif mode == "between-parts":
        # Then between two parts of a multi-part message (some recorded, some not).
        _wait(
            lambda: (
                watch.counts["sent"] >= target
                and int(partly_recorded(args=["{sms:outbound}:r:*"])) > 0
            ),
            FIRST_RUN_TIMEOUT_S,
            f"{target} recipients sent, then a multi-part recipient partly recorded",
            [simulator, first],
            watch,
        )
    else:
        # While intake is still reading the outbound stream, a few recipients sent already
        # (or, should intake win the race, once a random number of recipients is sent).
        _wait(
            lambda: (
                (watch.counts["sent"] >= 1 and _unread(client) > 0)
                or watch.counts["sent"] >= target
            ),
            FIRST_RUN_TIMEOUT_S,
            "a recipient sent while intake reads",
            [simulator, first],
            watch,
        )
    first.kill()
    sent_at_kill = watch.counts["sent"]
    time.sleep(rng.uniform(0.1, 0.5))
    # What the first daemon left: nothing writes to Redis until the second one starts.
    at_crash = _recorded_parts(client)
    unread_at_kill = _unread(client)
    not_taken_at_kill = _read_not_taken(client)
    at_crash_recipients = Counter((entry, index) for entry, index, _ in at_crash)
    watch.poll()
    crash_id = watch.last
    restart_wall = time.time()
    second = start_daemon(config, directory, name="daemon-2")
    processes.append(second)
    _wait(
        lambda: len(watch.final) >= total,
        FINISH_TIMEOUT_S,
        f"a final status for all {total} recipients",
        [simulator, second],
        watch,
    )
    stopping = time.monotonic()
    code = second.terminate(SHUTDOWN_TIMEOUT_S)  # raises past its shutdown timeout
    stop_s = time.monotonic() - stopping
    assert code == 0, f"the restarted daemon exited {code} on SIGTERM\n{second.output()}"
    for daemon in (first, second):
        said = daemon.stdout_path.read_text() + daemon.stderr_path.read_text()
        assert "Traceback" not in said, daemon.output()
        assert " ERROR " not in said, daemon.output()
    assert simulator.terminate(10) == 0, simulator.output()
    watch.poll()
    outcome = watch.counts
    assert outcome["delivered"] == total, f"not all delivered: {dict(outcome)}"
    repeats = _check_order(game, watch, crash_id)
    _check_redis_drained(client, total)
    final = _recorded_parts(client)
    duplicates = _check_parts(game, watch, at_crash, final, _read_record(record), restart_wall)
    assert duplicates <= WINDOW * BINDS, (
        f"{duplicates} parts accepted twice: more than the {WINDOW * BINDS} that can be in flight"
    )
    return {
        "round": game.number,
        "kill": mode,
        "recipients": total,
        "kill_after_sent": sent_at_kill,
        "response_delay_s": response_delay,
        "receipt_delay_s": receipt_delay,
        "recorded_parts_at_kill": len(at_crash),
        "partly_recorded_at_kill": sum(
            1
            for r in game.recipients.values()
            if 0 < at_crash_recipients[r.entry, r.index] < r.parts
        ),
        "entries_unread_at_kill": unread_at_kill,
        "entries_read_not_taken_at_kill": not_taken_at_kill,
        "parts": len(final),
        "duplicates": duplicates,
        "repeated_events": repeats,
        "sigterm_exit_s": round(stop_s, 2),
        "seconds": round(time.monotonic() - started, 2),
    }


def _seeds() -> list[int | None]:
    if "CRASH_SEED" in os.environ:
        return [int(os.environ["CRASH_SEED"])]
    return [None, *REGRESSION_SEEDS]


@pytest.mark.parametrize("seed", _seeds(), ids=lambda s: "random" if s is None else f"seed{s}")
def test_sigkill_mid_run_then_restart_loses_nothing_and_resends_no_recorded_part(
    seed: int | None, redis_url: str, tmp_path: Path, cleanup: list[Process]
) -> None:
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 32)
    print(f"crash test seed {seed} (CRASH_SEED={seed} replays it)")
    client = redis.Redis.from_url(redis_url)
    try:
        for number in range(1, ROUNDS + 1):
            game = Round(number, seed)
            directory = tmp_path / f"round{number}"
            try:
                summary = _play(game, client, redis_url, directory, cleanup)
            except BaseException:
                print(f"round {number} failed (seed {seed}); files in {directory}")
                for process in cleanup:
                    process.close()
                    print(process.output())
                raise
            print(json.dumps(summary))
            for process in cleanup:
                process.close()
            cleanup.clear()
    finally:
        client.close()
