"""GraphiQL's vendored files (web/graphiql/vendor/) are the ones VERSIONS.json records, each
with its licence, and its page loads nothing else."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import strawberry

from handoff_desk.http.graphiql import GRAPHIQL_DIR, PAGE

VENDOR = GRAPHIQL_DIR / "vendor"
RECORD = json.loads((VENDOR / "VERSIONS.json").read_text())
FILES = {target: entry for p in RECORD["packages"] for target, entry in p["files"].items()}


def test_every_vendored_file_is_the_recorded_one():
    for target, entry in FILES.items():
        data = (VENDOR / target).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], target


def test_nothing_is_vendored_without_a_record():
    on_disk = {
        path.relative_to(VENDOR).as_posix()
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name != "VERSIONS.json"
    }
    assert on_disk == set(FILES)


def test_each_package_says_where_it_came_from_and_comes_with_its_licence():
    for package in RECORD["packages"]:
        name, version = package["name"], package["version"]
        tarball = f"{name.split('/')[-1]}-{version}.tgz"
        assert package["source"] == f"https://registry.npmjs.org/{name}/-/{tarball}"
        assert package["integrity"].startswith("sha512-")
        assert package["license"] == "MIT"
    folders = {target.split("/")[0] for target in FILES}
    assert {f"{folder}/LICENSE" for folder in folders} <= set(FILES)
    for folder in folders:
        assert "MIT License" in (VENDOR / folder / "LICENSE").read_text()


def test_the_page_loads_only_the_vendored_files_and_its_own():
    html = PAGE.read_text()
    assert "<script>" not in html and "<style>" not in html  # the page's CSP allows neither
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    loaded = {url.removeprefix("/graphiql/") for url in urls if url.startswith("/graphiql/")}
    assert loaded == {
        "page.css",
        "page.js",
        *(f"vendor/{target}" for target in FILES if not target.endswith("LICENSE")),
    }
    assert all((GRAPHIQL_DIR / path).is_file() for path in loaded)


def test_the_files_are_those_strawberrys_page_loads_from_the_cdn():
    """Strawberry's own page names each release with its subresource integrity: where it names
    the same release as the record, the hash is our file's (a second, independent witness)."""
    page = (Path(strawberry.__file__).parent / "static" / "graphiql.html").read_text()
    cdn = dict(re.findall(r'(?:src|href)="https://unpkg\.com/([^"]+)"\s+integrity="([^"]+)"', page))
    compared = 0
    for package in RECORD["packages"]:
        for target, entry in package["files"].items():
            sri = cdn.get(f"{package['name']}@{package['version']}/{entry['from']}")
            if sri is not None:
                digest = hashlib.sha384((VENDOR / target).read_bytes()).digest()
                assert sri == "sha384-" + base64.b64encode(digest).decode(), target
                compared += 1
    assert compared == 6, "Strawberry's page names other releases: scripts/vendor-graphiql"
