"""Every curl example of the API's documentation page, sent as written, gets a 2xx JSON answer."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import requests

from drgero_client.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "drgero-api" / "models-and-fine-tuning.txt"
VENDORED = ROOT / "docs" / "drgero-api" / "models-and-fine-tuning.txt"


def documentation() -> str:
    return (SHARED if SHARED.exists() else VENDORED).read_text()


def curl_examples(text: str) -> list[list[str]]:
    """Each ``curl …`` command, its backslash-continued lines joined, split like a shell."""
    joined = text.replace("\\\n", " ")
    commands = re.findall(r"^\s*(curl .*?)\|\s*jq", joined, flags=re.DOTALL | re.MULTILINE)
    return [shlex.split(cmd) for cmd in commands]


def parse(argv: list[str]) -> tuple[str, str, dict[str, str], str | None]:
    method, url, headers, body = "GET", "", {}, None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            body = next(args)
        elif arg.startswith("-"):
            continue
        else:
            url = arg
    return method, url, headers, body


EXAMPLES = curl_examples(documentation())


def test_vendored_copy_matches_the_shared_documentation() -> None:
    if not SHARED.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert VENDORED.read_text() == SHARED.read_text()


def test_the_page_has_all_its_examples() -> None:
    # list, create, get, patch, delete, base models, leaderboards, runs, run, sync, schedule
    assert len(EXAMPLES) == 11


@pytest.mark.parametrize("argv", EXAMPLES, ids=[" ".join(a[1:4]) for a in EXAMPLES])
def test_each_curl_example_gets_a_2xx_json_answer(argv: list[str], sandbox: SandboxServer) -> None:
    state = sandbox.state
    model = state.add_model("ws_main", name="Contract Model")  # fresh and idle
    run = state.add_run(model["id"], outcome="SUCCEEDED", created_at=state.clock.now())
    sandbox.state.clock.advance(3600)  # the run is finished: the model is idle again
    values = {
        "$API_BASE": sandbox.url,
        "$DRGERO_TOKEN": "drgero_sandbox_full",
        "$MODEL_ID": model["id"],
        "OPTIONAL_RUN_ID": run.id,
    }
    method, url, headers, body = parse(argv)

    def fill(text: str) -> str:
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    response = requests.request(
        method,
        fill(url),
        headers={k: fill(v) for k, v in headers.items()},
        data=fill(body).encode() if body is not None else None,
        timeout=5,
    )
    assert 200 <= response.status_code < 300, response.text
    assert isinstance(response.json(), dict | list)
    assert not re.search(r"\$[A-Z_]+", fill(url))


def test_a_documented_example_body_is_valid_json() -> None:
    bodies = [parse(a)[3] for a in EXAMPLES if parse(a)[3]]
    assert bodies
    for body in bodies:
        json.loads(body.replace("$MODEL_ID", "x"))
