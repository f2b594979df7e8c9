"""Where a signed-in request spends its time: `python -m bench.profile [path] [requests]`.

Production settings on a throwaway SQLite database, one member signed in with a token, the page
requested in-process through Django's handler (no network), first without and then with
cProfile. Prints the mean server time per request and the functions that cost the most. The
figures quoted in docs/benchmarks.md under "What the profile showed" come from this script.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time

from bench.common import PASSWORD, PYTHON, ROOT, production_env


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    mean_only = "--mean-only" in sys.argv
    minimal = "--minimal" in sys.argv  # the floor: bench/minimal.py's signed-in view
    path = "/minimal/" if minimal else (args[0] if args else "/account/password/")
    count = int(args[1]) if len(args) > 1 else 2000
    if os.environ.get("BENCH_PROFILE_CHILD") != "1":
        folder = tempfile.mkdtemp(prefix="console-profile-")
        drgero = os.environ.get("BENCH_DRGERO", "http://127.0.0.1:9")  # a sandbox, if any
        env = production_env(f"sqlite:///{folder}/db.sqlite3", drgero)
        env["BENCH_PROFILE_CHILD"] = "1"
        env["LOG_LEVEL"] = "WARNING"
        for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"]):
            subprocess.run(
                [PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
            )
        extra = (["--mean-only"] if mean_only else []) + (["--minimal"] if minimal else [])
        if minimal:
            env["DJANGO_SETTINGS_MODULE"] = "bench.minimal"  # migrated with the full settings
        return subprocess.run(
            [PYTHON, "-m", "bench.profile", path, str(count), *extra],
            cwd=ROOT,
            env=env,
            check=False,
        ).returncode
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from console.crypto import encrypt_token
    from console.models import DrGeroToken
    from console.roles import Role
    from console.services.team import set_role_groups

    user = get_user_model().objects.create_user("profiled", password=PASSWORD)
    set_role_groups(user, Role.OPERATOR)
    value, key_id = encrypt_token("drgero_sandbox_full", user_id=user.pk)
    DrGeroToken.objects.create(
        user=user, ciphertext=value, key_id=key_id, hint="full", saved_at=timezone.now()
    )
    if os.environ.get("BENCH_DRGERO") and not minimal:
        from console.services.sweeps import sweep_discovery

        sweep_discovery()  # the history pages then hold the sandbox's runs
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    for _ in range(50):
        response = client.get(path, secure=True)
        status = response.status_code
        assert status in (200, 204, 404), (status, response.get("Location"))
    started = time.perf_counter()
    for _ in range(count):
        client.get(path, secure=True)
    mean_ms = (time.perf_counter() - started) / count * 1000
    if mean_only:
        print(f"{mean_ms:.4f}")
        return 0
    print(f"{path}: {mean_ms:.2f} ms a request over {count} requests (in-process, no network)")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        client.get(path, secure=True)
    profiler.disable()
    if os.environ.get("BENCH_PROFILE_OUT"):
        profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])  # for pstats, grouped as one likes
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
