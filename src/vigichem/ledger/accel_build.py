"""Build the compiled copies of :data:`vigichem.ledger.accel.ACCELERATED_MODULES` (mypyc, a C compiler).

``python -m vigichem.ledger.accel_build [--target DIR]``: copies the modules' sources into a scratch
package ``vigichem_accel`` (imports between them redirected to the copies, the source digest appended as a
constant), compiles it with mypyc and installs the extension modules into ``DIR`` (default: this
interpreter's site-packages). ``make`` runs it after installing; it needs ``mypy`` (a development
dependency) and a C compiler, and without them vigichem runs the pure-Python modules. Exit status 0 on
success, 1 with the reason on stderr otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from vigichem.ledger.accel import (
    ACCELERATED_MODULES,
    COMPILED_PACKAGE,
    DIGEST_ATTRIBUTE,
    source_digest,
    source_path,
)

__all__ = ["build", "main"]

# Run in a child interpreter (setuptools wants to own its process): compile the copies, in place.
_SETUP = """
import sys
from mypyc.build import mypycify
from setuptools import setup

setup(
    name="{package}",
    ext_modules=mypycify(sys.argv[1:], opt_level="3", group_name="{package}"),
    script_args=["build_ext", "--inplace", "--build-temp", "build"],
)
"""

_MYPY_CONFIG = """[mypy]
python_version = 3.11
strict = True
"""


def _copy_source(module: str, digest: str) -> str:
    """The module's source with imports of the other accelerated modules pointing at their copies."""
    text = source_path(module).read_text(encoding="utf-8")
    for other in ACCELERATED_MODULES:
        text = text.replace(
            f"from {other} import", f"from {COMPILED_PACKAGE}.{other.rsplit('.', 1)[1]} import"
        )
    if module.endswith(".hashid"):
        text += f'\n{DIGEST_ATTRIBUTE} = "{digest}"\n'
    return text


def build(target: Path) -> list[Path]:
    """Compile the copies and install them under ``target``; the installed files.

    Raises ``RuntimeError`` with the compiler's output when the build fails; ``target`` then keeps no
    partial package (an earlier build is removed first).
    """
    digest = source_digest()
    installed_package = target / COMPILED_PACKAGE
    shutil.rmtree(installed_package, ignore_errors=True)
    for stale in target.glob(f"{COMPILED_PACKAGE}__mypyc*"):
        stale.unlink()
    with tempfile.TemporaryDirectory(prefix="vigichem-accel-") as scratch:
        root = Path(scratch)
        package = root / COMPILED_PACKAGE
        package.mkdir()
        (package / "__init__.py").write_text(
            '"""Compiled copies of vigichem modules (see vigichem.ledger.accel)."""\n'
        )
        sources = []
        for module in ACCELERATED_MODULES:
            path = package / (module.rsplit(".", 1)[1] + ".py")
            path.write_text(_copy_source(module, digest), encoding="utf-8")
            sources.append(str(path.relative_to(root)))
        (root / "setup.py").write_text(_SETUP.format(package=COMPILED_PACKAGE), encoding="utf-8")
        (root / "mypy.ini").write_text(_MYPY_CONFIG, encoding="utf-8")
        completed = subprocess.run(
            [sys.executable, "setup.py", *sources],
            cwd=root,
            capture_output=True,
            text=True,
            env={**os.environ, "MYPYC_OPT_LEVEL": "3"},
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"mypyc build failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}")
        built = [*package.glob("*.so"), *package.glob("*.pyd"), *root.glob(f"{COMPILED_PACKAGE}__mypyc*")]
        if not any(path.name.startswith("hashid.") for path in built):
            raise RuntimeError(f"mypyc build produced no hashid extension:\n{completed.stdout[-4000:]}")
        installed_package.mkdir(parents=True)
        shutil.copy2(package / "__init__.py", installed_package / "__init__.py")
        out = [installed_package / "__init__.py"]
        for path in built:
            destination = (installed_package if path.parent == package else target) / path.name
            shutil.copy2(path, destination)
            out.append(destination)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: build into ``--target`` (default: site-packages); 0 on success, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--target", type=Path, default=Path(sysconfig.get_paths()["platlib"]))
    args = parser.parse_args(argv)
    try:
        files = build(args.target)
    except (RuntimeError, OSError, ImportError) as error:
        print(f"vigichem: compiled hash ID not built, pure Python will be used: {error}", file=sys.stderr)
        return 1
    print(f"vigichem: compiled hash ID built: {', '.join(str(path) for path in files)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
