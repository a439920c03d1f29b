"""`make lab` really starts JupyterLab on exercises/, and a kernel there runs an exercise.

The test starts `make lab` on a free port (with `--allow-root` when run as root, as the
Makefile passes it), checks that exercise 1's notebook is served, then opens a session on
it through the server's REST API and runs the notebook's set-up cell in that kernel over
the kernel's websocket channel.
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid

import nbformat
import pytest

import course

pytestmark = pytest.mark.slow

NOTEBOOK = "01_convolution/01_convolution.ipynb"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab():
    port, token = free_port(), uuid.uuid4().hex
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    process = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
        cwd=course.ROOT, env=course.subprocess_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.poll() is not None else "(still running)"
                    pytest.fail(f"make lab did not start (exit {process.poll()}):\n{output[-3000:]}")
                time.sleep(1)
        yield base, token
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def api(base, token, path, method="GET", body=None):
    request = urllib.request.Request(
        f"{base}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def test_lab_serves_exercise_one(lab):
    base, token = lab
    status, page = api(base, token, f"/lab/tree/{NOTEBOOK}")
    assert status == 200 and b"JupyterLab" in page
    status, body = api(base, token, f"/api/contents/{NOTEBOOK}")
    content = json.loads(body)["content"]
    assert any("def conv_single_step" in "".join(cell["source"]) for cell in content["cells"])


def test_a_kernel_runs_the_exercise_set_up_cell(lab):
    import websocket

    base, token = lab
    notebook = nbformat.read(course.EXERCISES / NOTEBOOK, as_version=4)
    set_up = next(cell.source for cell in notebook.cells if cell.cell_type == "code")
    _, body = api(base, token, "/api/sessions", "POST",
                  {"path": NOTEBOOK, "type": "notebook", "name": NOTEBOOK, "kernel": {"name": "python3"}})
    kernel = json.loads(body)["kernel"]["id"]
    try:
        ws = websocket.create_connection(
            f"{base.replace('http', 'ws')}/api/kernels/{kernel}/channels?token={token}", timeout=120)
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": set_up, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False},
        }))
        errors = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            message = json.loads(ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "error":
                errors.append(message["content"])
            if message["msg_type"] == "execute_reply":
                assert message["content"]["status"] == "ok", f"set-up cell failed: {errors}"
                break
        else:
            pytest.fail("no reply to the set-up cell")
        ws.close()
    finally:
        api(base, token, f"/api/kernels/{kernel}", "DELETE")
