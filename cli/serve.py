"""`itb-triage serve`: the interview and the result in a browser, on this computer only.

This command only starts the web app (web/, the `web` extra); it binds to 127.0.0.1
by default, so nothing is reachable from the network unless `--host` says so.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
import webbrowser

import click

from .common import fail
from .exit_codes import ExitStatus


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound now, so a port in use is one clear line, not a log."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP said, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # connections whose socket says TCP. Left on, a page sent in two writes (head, body) waited
    # for the browser's delayed ACK: 40-50 ms on every page (measured on loopback).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", ExitStatus.INPUT_ERROR)
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


# glibc's mallopt parameter for the most malloc arenas a process may have.
M_ARENA_MAX = -8
SERVE_ARENAS = 2


def _fewer_malloc_arenas(arenas: int = SERVE_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process; False where that cannot be done.

    Requests run in a pool of up to 40 threads, and glibc gives a thread that meets
    another in malloc an arena of its own (up to 8 per core), each keeping what was freed
    in it: under the load test the server's memory grew from wave to wave with the
    default, and stayed with 2 arenas (docs/performance-web.md). MALLOC_ARENA_MAX set by
    the user wins. Not glibc (macOS, musl): nothing is done.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default is this computer only.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the app in the default web browser.")
def serve(host: str, port: int, open_browser: bool) -> None:
    """Run the interview and the result as a web app in your browser.

    Prints the address to open. Answers are saved in the same place as
    `itb-triage interview`, so either can carry on an interview the other began.
    Ctrl-C stops it (exit status 130). Needs the web extra: pip install 'itb-triage[web]'.
    """
    try:
        import uvicorn

        from itb_triage.web.app import create_app
    except ImportError as exc:
        fail(f"serve needs the web extra ({exc.name} is missing): pip install 'itb-triage[web]'",
             ExitStatus.INPUT_ERROR)
    from .common import triage
    from .report import build_report

    _fewer_malloc_arenas()  # before the thread pool's first request
    app = create_app(triage(), report=build_report)
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    click.echo(f"itb-triage: serving on {url} (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    # A request still waiting for the engine does not hold up Ctrl-C for more than 5 s.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                                           timeout_graceful_shutdown=5))
    # uvicorn handles Ctrl-C itself: it stops serving, then raises the signal again,
    # which the entry point turns into "interrupted" and status 130.
    server.run(sockets=[sock])
    if server.should_exit:
        raise KeyboardInterrupt
