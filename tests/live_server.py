"""Start the real app as a subprocess on a free port (the way a user starts it), for browser and
HTTP tests. The server's output is attached to any failure."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    env: dict

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `python app.py ARGS` against the same database."""
        result = subprocess.run(
            [sys.executable, "app.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        if check and result.returncode != 0:
            raise AssertionError(f"app.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result


def start(instance_dir: Path, *, grids: int = 30, days: int = 30, env: dict | None = None) -> LiveServer:
    """Generate a small demo into `instance_dir` and serve it; waits for /healthz."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "GCC_INSTANCE_DIR": str(instance_dir),
        "GCC_SIMULATE": "false",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    full_env.pop("DATABASE_URL", None) if "DATABASE_URL" not in (env or {}) else None
    subprocess.run(
        [sys.executable, "app.py", "demo", "--grids", str(grids), "--days", str(days), "--seed", "11"],
        cwd=ROOT,
        env=full_env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = free_port()
    log_path = instance_dir / "server.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "app.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path, full_env)
    deadline = time.time() + 90
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"server did not answer /healthz within 90 s:\n{server.log()}")
