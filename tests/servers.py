"""Test plumbing shared by the suites that start real processes: ports, in-process servers, Debian tools,
and the browser with a fake camera."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, grace: float) -> None:
    """Stop a server process as an operator does (SIGTERM), killing it if it has not left within `grace` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve_in_thread(app: object) -> Iterator[str]:
    """Run an ASGI app under uvicorn on 127.0.0.1 in this process; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def ensure_debian(*packages: str) -> None:
    """Install Debian packages whose command is missing (CI machines start without chromium and ffmpeg)."""
    missing = [name for name in packages if not (Path(CHROMIUM).exists() if name == "chromium" else shutil.which(name))]
    if missing:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env, capture_output=True)


def camera_video(code: str, folder: Path) -> Path:
    """A 4 s y4m of the printed code, framed for a 640x480 camera, for chromium's fake video capture."""
    from scanner.render import png

    ensure_debian("chromium", "ffmpeg")
    (folder / "code.png").write_bytes(png(code, module_px=6))
    video = folder / "code.y4m"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-loop", "1", "-i", str(folder / "code.png"), "-t", "4", "-r", "15",
                    "-vf", "scale=-2:440,pad=640:480:(ow-iw)/2:(oh-ih)/2:white", "-pix_fmt", "yuv420p", str(video)],
                   check=True)
    return video


def camera_args(video: Path) -> list[str]:
    """Chromium flags: a camera that films `video`, granted without asking, in a container without a sandbox."""
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}", "--no-sandbox"]


NGINX_TILES = Path(__file__).resolve().parent.parent / "deploy" / "nginx-tiles.conf"
"""The nginx locations that serve an exported tiles folder under /log/."""


@contextmanager
def nginx_serving_tiles(folder: Path, scratch: Path) -> Iterator[str]:
    """Debian's nginx as one unprivileged process on a free port, serving the export in `folder` under
    /log/ with `deploy/nginx-tiles.conf`; config, pid, logs and temp files in `scratch`. Yields its base URL."""
    ensure_debian("nginx")
    scratch.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (scratch / "tiles.conf").write_text(NGINX_TILES.read_text().replace("/srv/tracemark/tiles", str(folder.resolve())))
    temp = "\n".join(f"  {kind}_temp_path {scratch / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (scratch / "nginx.conf").write_text(f"""daemon off;
master_process off;
worker_processes 1;
pid {scratch / 'nginx.pid'};
error_log {scratch / 'error.log'} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/octet-stream;
{temp}
  server {{
    listen 127.0.0.1:{port};
    include {scratch / 'tiles.conf'};
  }}
}}
""")
    process = subprocess.Popen(["nginx", "-p", str(scratch), "-e", str(scratch / "error.log"), "-c", str(scratch / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited with {process.returncode}: {(scratch / 'error.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start listening in 20 s"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process, 10)
