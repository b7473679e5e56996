"""The adapters package as other parts import it."""
from __future__ import annotations


def test_importing_the_package_stays_light():
    import subprocess
    import sys

    code = ("import sys, adapters; print(sorted(m for m in ('httpx', 'fastapi', 'pydifact', "
            "'uvicorn', 'lxml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
