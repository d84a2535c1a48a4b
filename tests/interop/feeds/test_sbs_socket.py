"""`deconfliction tactical sbs` over a real local TCP socket, fed real-format SBS-1 lines.

A server thread on 127.0.0.1 plays a receiver such as dump1090 on port 30003: BaseStation
``MSG`` lines (types 1, 3 and 4, 22 fields, CRLF) stamped with the current UTC time, for two
aircraft that close head-on and then fly apart. The command must raise the conflict alert
and clear it, list malformed lines, and stop when the feed closes.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from click.testing import CliRunner

from deconfliction.cli import cli
from deconfliction.cli.errors import EXIT_UNREACHABLE
from deconfliction.units import KNOT_MPS

M_PER_DEG_LON = 6_371_000.0 * math.radians(1.0) * math.cos(math.radians(35.0))
SPEED_KT = 400.0


def sbs(kind: int, hexident: str, when: datetime, **fields: str) -> str:
    """One BaseStation line as dump1090 writes it."""
    date, clock = when.strftime("%Y/%m/%d"), when.strftime("%H:%M:%S.%f")[:-3]
    parts = ["MSG", str(kind), "1", "1", hexident, "1", date, clock, date, clock] + [""] * 12
    index = {"callsign": 10, "alt": 11, "gs": 12, "trk": 13, "lat": 14, "lon": 15, "vs": 16, "ground": 21}
    for flag in (18, 19, 20, 21):  # alert, emergency, spi, on ground
        parts[flag] = "0"
    for name, value in fields.items():
        parts[index[name]] = value
    return ",".join(parts) + "\r\n"


def encounter(duration_s: float = 4.0) -> Callable[[socket.socket], None]:
    """A (4CA2D6) eastbound, B (3C6445) westbound 30 km ahead at FL300; at half time B turns
    east too, so they fly apart at the same speed, 5+ NM apart."""
    speed = SPEED_KT * KNOT_MPS

    def play(conn: socket.socket) -> None:
        start = time.monotonic()
        conn.sendall(sbs(1, "4CA2D6", datetime.now(UTC), callsign="BAW123  ").encode())
        conn.sendall(b"this is not SBS\r\n")
        conn.sendall(sbs(3, "ZZZ999", datetime.now(UTC), alt="1000", lat="35", lon="40").encode())
        turned_at: float | None = None
        b_lon = 40.0 + 30_000.0 / M_PER_DEG_LON
        while (t := time.monotonic() - start) < duration_s:
            now = datetime.now(UTC)
            a_lon = 40.0 + speed * t / M_PER_DEG_LON
            if t < duration_s / 2:
                lon_b, trk_b = b_lon - speed * t / M_PER_DEG_LON, 270.0
            else:
                turned_at = turned_at if turned_at is not None else t
                lon_b = b_lon - speed * turned_at / M_PER_DEG_LON + speed * (t - turned_at) / M_PER_DEG_LON
                trk_b = 90.0
            alt = "30000"  # feet, as SBS-1 carries it
            lines = [
                sbs(3, "4CA2D6", now, alt=alt, lat="35.00000", lon=f"{a_lon:.5f}"),
                sbs(4, "4CA2D6", now, gs=f"{SPEED_KT:.0f}", trk="90.0", vs="0"),
                sbs(3, "3C6445", now, alt=alt, lat="35.00000", lon=f"{lon_b:.5f}"),
                sbs(4, "3C6445", now, gs=f"{SPEED_KT:.0f}", trk=f"{trk_b:.1f}", vs="0"),
            ]
            conn.sendall("".join(lines).encode())
            time.sleep(0.05)

    return play


@contextmanager
def feed_server(play: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-connection TCP server on 127.0.0.1 running ``play``; yields its port."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10.0)
    port = server.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = server.accept()
            with conn:
                play(conn)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        thread.join(timeout=15.0)
        assert not thread.is_alive()
    assert not errors, errors


def test_sbs_command_raises_and_clears_alerts_from_a_live_socket() -> None:
    with feed_server(encounter()) as port:
        result = CliRunner().invoke(
            cli,
            [
                "tactical",
                "sbs",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--step-s",
                "0.25",
                "--parties",
                "blue,red",
                "--seconds",
                "30",
            ],
        )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    pair = "conflict  4ca2d6 (blue) / 3c6445 (red)"
    raised = [line for line in lines if "RAISED" in line and pair in line]
    cleared = [line for line in lines if "CLEARED" in line and pair in line]
    assert raised, result.output
    assert cleared, result.output
    assert lines.index(raised[0]) < lines.index(cleared[-1])
    # 30 km apart closing at 2 x 400 kt: loss of 5 NM in about 50 s (less the seconds the feed has
    # run when the alert rises), a caution whatever the machine's load.
    assert "CAUTION  " + pair in raised[0]
    loss = int(raised[0].split("loss in ")[1].split(" s")[0])
    assert 40 <= loss <= 51
    # Each line starts with the UTC time of its cycle: this machine's clock, now.
    h, m, sec = (int(x) for x in raised[0][:8].split(":"))
    now = datetime.now(UTC)
    assert (now.hour * 3600 + now.minute * 60 + now.second - (h * 3600 + m * 60 + sec)) % 86_400 < 60
    assert "refused line 2: line: not an SBS-1 MSG line with 22 fields" in result.stderr
    assert "refused line 3: id='zzz999': hexident: not a 24-bit hex address" in result.stderr
    assert "2 aircraft" in result.stderr
    assert "1 raised (1 conflict)" in result.stderr


def test_sbs_command_stops_after_seconds_on_a_silent_feed() -> None:
    def silent(conn: socket.socket) -> None:
        conn.settimeout(5.0)
        with contextlib.suppress(TimeoutError):
            conn.recv(1)  # until the client hangs up

    with feed_server(silent) as port:
        started = time.monotonic()
        result = CliRunner().invoke(
            cli, ["tactical", "sbs", "--port", str(port), "--step-s", "0.1", "--seconds", "0.5"]
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert elapsed < 4.0
    assert "0 lines, 0 refused, 0 aircraft" in result.stderr
    assert "no alerts" in result.stderr


def test_sbs_command_reports_a_feed_it_cannot_reach() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    result = CliRunner().invoke(cli, ["tactical", "sbs", "--port", str(port), "--connect-timeout-s", "2"])
    assert result.exit_code == EXIT_UNREACHABLE
    assert f"cannot connect to 127.0.0.1:{port}" in result.output


def test_assembler_reports_position_time_and_only_aircraft_heard_since() -> None:
    from deconfliction.interop.feeds.sbs import SbsAssembler

    t0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    feed = SbsAssembler(party_of=lambda _: "civil")
    feed.feed(
        [
            sbs(3, "4CA2D6", t0, alt="35000", lat="51.5", lon="-0.1"),
            sbs(4, "4CA2D6", t0.replace(second=2), gs="450", trk="270", vs="0"),
            sbs(3, "400ABD", t0.replace(second=1), alt="20000", lat="51.0", lon="0.1"),
            sbs(4, "400ABD", t0.replace(second=1), gs="300", trk="90", vs="0"),
        ]
    )
    batch = feed.batch()
    assert list(batch.ids) == ["4ca2d6", "400abd"]
    # The report's time is when its position was heard, not its last velocity message.
    assert batch.time_s.tolist() == [t0.timestamp(), t0.timestamp() + 1.0]
    assert list(feed.batch(since_s=t0.timestamp() + 1.5).ids) == ["4ca2d6"]
    assert list(feed.batch(since_s=t0.timestamp() + 2.0).ids) == []
