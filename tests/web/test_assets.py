"""The interface's own files reference nothing outside the node, and every asset they name is vendored."""

from __future__ import annotations

import re
from importlib import resources

from vigichem.web import STATIC_DIR

_URL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
_STATIC = re.compile(r"/static/[A-Za-z0-9_./-]+")


def _own_files() -> dict[str, str]:
    templates = resources.files("vigichem.web").joinpath("templates")
    files = {f"templates/{item.name}": item.read_text(encoding="utf-8") for item in templates.iterdir()}
    for name in ("app.css", "app.js"):
        files[name] = (STATIC_DIR / name).read_text(encoding="utf-8")
    return files


def test_templates_and_own_assets_name_no_other_site() -> None:
    for name, text in _own_files().items():
        # GS1 Digital Link URIs name products and lots (identifiers in placeholders, never fetched).
        found = [url for url in _URL.findall(text) if url.lower() != "https://id.gs1.org"]
        assert found == [], f"{name} refers to another site"


def test_every_static_path_named_exists() -> None:
    named = {path for text in _own_files().values() for path in _STATIC.findall(text)}
    assert "/static/vendor/htmx/htmx.min.js" in named and "/static/vendor/chartjs/chart.umd.js" in named
    for path in named:
        assert (STATIC_DIR / path.removeprefix("/static/")).is_file(), path


def test_vendored_assets_carry_their_licences_and_no_source_map_request() -> None:
    vendor = STATIC_DIR / "vendor"
    for folder in ("htmx", "chartjs", "pico", "inter"):
        assert any(item.name.startswith("LICENSE") for item in (vendor / folder).iterdir()), folder
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    for package in ("htmx.org", "chart.js", "@picocss/pico", "@fontsource/inter"):
        assert package in readme
    for script in vendor.rglob("*.js"):
        assert "sourceMappingURL" not in script.read_text(encoding="utf-8"), script
