#!/usr/bin/env python3
"""Helpers for the offline GPU-host bundle (scripts/gpu-host/pack.sh, install.sh).

Standard library plus `packaging` (falls back to pip's vendored copy), so it also runs on the host.

  pick-vllm --torch 2.11.0            newest vLLM release whose wheel METADATA pins torch==<ver>
                                      (reads METADATA from the remote wheel with HTTP range requests)
  graph DIR --host-root R ...         classify the wheels in DIR: host-provided closure vs. bundle
  check DIR --host PKG[==VER] ...     every Requires-Dist of every wheel in DIR satisfied by DIR or host list?
  check-installed DIR                 (on the host) same, against what the running interpreter can import
                                      (PYTHONPATH included) via importlib.metadata
  report GRAPH.json                   human summary of `graph`, writes the list of wheels to bundle
  store-wheels SRC DST FILE...        re-zip wheels uncompressed (xz over the archive then compresses them)
  pth-paths SITE                      (on the host) extra sys.path entries from SITE's *.pth files
"""
from __future__ import annotations

import argparse
import email.parser
import io
import json
import re
import sys
import urllib.request
import zipfile
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version
except ImportError:  # pragma: no cover - pip's vendored copy
    from pip._vendor.packaging.requirements import Requirement  # type: ignore
    from pip._vendor.packaging.specifiers import SpecifierSet  # type: ignore
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore
    from pip._vendor.packaging.version import InvalidVersion, Version  # type: ignore

# Marker environment of the target host (Ubuntu 24.04, CPython 3.12.3, x86-64).
TARGET_ENV = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.3",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.12.3",
    "python_version": "3.12",
    "sys_platform": "linux",
}


def parse_metadata(text: str) -> dict:
    msg = email.parser.Parser().parsestr(text, headersonly=True)
    return {
        "name": msg["Name"],
        "key": canonicalize_name(msg["Name"]),
        "version": msg["Version"],
        "requires": msg.get_all("Requires-Dist") or [],
        "requires_python": msg.get("Requires-Python"),
    }


def wheel_metadata(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        if not names:
            raise SystemExit(f"{path.name}: no .dist-info/METADATA")
        md = parse_metadata(zf.read(names[0]).decode("utf-8", "replace"))
    md["file"] = path.name
    md["size"] = path.stat().st_size
    return md


class HttpRangeFile(io.RawIOBase):
    """Seekable read-only view of a remote file (HTTP range requests), enough for zipfile."""

    def __init__(self, url: str):
        self.url, self.pos = url, 0
        req = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(req, timeout=60) as r:
            self.size = int(r.headers["Content-Length"])

    def seekable(self):
        return True

    def readable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, off, whence=0):
        self.pos = {0: off, 1: self.pos + off, 2: self.size + off}[whence]
        return self.pos

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.size - self.pos
        if n == 0 or self.pos >= self.size:
            return b""
        end = min(self.size, self.pos + n) - 1
        req = urllib.request.Request(self.url, headers={"Range": f"bytes={self.pos}-{end}"})
        with urllib.request.urlopen(req, timeout=120) as r:
            data = r.read()
        self.pos += len(data)
        return data

    def readinto(self, b):
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def remote_wheel_metadata(url: str) -> dict:
    with zipfile.ZipFile(io.BufferedReader(HttpRangeFile(url), buffer_size=1 << 16)) as zf:
        names = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        return parse_metadata(zf.read(names[0]).decode("utf-8", "replace"))


def torch_pin(requires: list[str]) -> str | None:
    for r in requires:
        req = Requirement(r)
        if canonicalize_name(req.name) == "torch" and (req.marker is None or req.marker.evaluate(dict(TARGET_ENV, extra=""))):
            return str(req.specifier)
    return None


def cmd_pick_vllm(a) -> int:
    url = a.index.rstrip("/") + "/vllm/"
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        files = json.load(r)["files"]
    by_ver: dict[Version, dict] = {}
    for f in files:
        m = re.match(r"vllm-([^-]+)-.*-manylinux[^-]*x86_64\.whl$", f["filename"])
        if not m or f.get("yanked"):
            continue
        try:
            v = Version(m.group(1))
        except InvalidVersion:
            continue
        if v.is_prerelease or v.local:
            continue
        by_ver.setdefault(v, f)
    want = f"=={a.torch}"
    for v in sorted(by_ver, reverse=True):
        f = by_ver[v]
        pin = torch_pin(remote_wheel_metadata(f["url"])["requires"])
        print(f"pick-vllm: vllm {v}: torch{pin}", file=sys.stderr)
        if pin == want:
            print(v)
            return 0
        if a.max_checks and len([x for x in by_ver if x >= v]) >= a.max_checks:
            break
    print(f"pick-vllm: no vLLM release pins torch{want}", file=sys.stderr)
    return 1


def load_dir(d: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for p in sorted(d.glob("*.whl")):
        md = wheel_metadata(p)
        if md["key"] in out:
            raise SystemExit(f"two wheels for {md['key']}: {out[md['key']]['file']} {p.name}")
        out[md["key"]] = md
    return out


def active_reqs(md: dict, extras: set[str]) -> list[Requirement]:
    res = []
    for r in md["requires"]:
        req = Requirement(r)
        if req.marker is None:
            res.append(req)
            continue
        for e in [""] + sorted(extras):
            if req.marker.evaluate(dict(TARGET_ENV, extra=e)):
                res.append(req)
                break
    return res


def closure(pkgs: dict[str, dict], roots: list[str]) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """Walk requirements from roots through the wheels in pkgs. Returns {pkg: extras} and {pkg: [required-by]}."""
    seen: dict[str, set[str]] = {}
    why: dict[str, list[str]] = {}
    todo = []
    for r in roots:
        req = Requirement(r)
        todo.append((canonicalize_name(req.name), set(req.extras), "<root>"))
    while todo:
        key, extras, parent = todo.pop()
        why.setdefault(key, []).append(parent)
        if key in seen and extras <= seen[key]:
            continue
        seen.setdefault(key, set()).update(extras)
        md = pkgs.get(key)
        if md is None:
            continue
        for req in active_reqs(md, seen[key]):
            todo.append((canonicalize_name(req.name), set(req.extras), key))
    return seen, why


def closure_avoiding(pkgs: dict[str, dict], roots: list[str], stop: set[str]):
    """closure() that does not walk into (or past) the names in stop."""
    seen: dict[str, set[str]] = {}
    why: dict[str, list[str]] = {}
    todo = [(canonicalize_name(Requirement(r).name), set(Requirement(r).extras), "<root>") for r in roots]
    while todo:
        key, extras, parent = todo.pop()
        why.setdefault(key, []).append(parent)
        if key in stop or (key in seen and extras <= seen[key]):
            seen.setdefault(key, set())
            continue
        seen.setdefault(key, set()).update(extras)
        md = pkgs.get(key)
        if md is None:
            continue
        for req in active_reqs(md, seen[key]):
            todo.append((canonicalize_name(req.name), set(req.extras), key))
    return seen, why


def cmd_graph(a) -> int:
    """Classify every wheel in DIR:
    bundle  - needed by a root and not on the host
    host    - needed, but the host has it (named, or in the dependency closure of a host root)
    dropped - needed by metadata, left out on purpose (--drop / --drop-regex)
    unused  - only reachable through host or dropped packages
    """
    pkgs = load_dir(Path(a.dir))
    host_closure, _ = closure(pkgs, a.host_root) if a.host_root else ({}, {})
    host = set(host_closure) | {canonicalize_name(n) for n in a.host}
    drop = {canonicalize_name(n) for n in a.drop}
    drop_pat = [re.compile(p) for p in a.drop_regex]
    keep = {canonicalize_name(n) for n in a.keep}
    for key in pkgs:
        if key not in keep and any(p.fullmatch(key) for p in drop_pat):
            drop.add(key)
    drop -= keep
    want, why = closure_avoiding(pkgs, a.root, (host - keep) | drop)
    rows = []
    for key, md in sorted(pkgs.items()):
        if key not in want:
            status = "unused"
        elif key in keep:
            status = "bundle"
        elif key in host:
            status = "host"
        elif key in drop:
            status = "dropped"
        else:
            status = "bundle"
        rows.append({"key": key, "file": md["file"], "version": md["version"], "size": md["size"],
                     "status": status, "required_by": sorted(set(why.get(key, [])))})
    missing = sorted(k for k in want if k not in pkgs and k not in host)
    json.dump({"rows": rows, "missing": missing}, sys.stdout, indent=1)
    return 0


def satisfied(req: Requirement, version: str | None) -> bool:
    if version is None or not str(req.specifier):
        return True
    try:
        return req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return True


def check(pkgs: dict[str, dict], provided: dict[str, str | None], label: str, dropped: set[str] = frozenset()) -> int:
    """Requirements of every bundled wheel (extras as requested by other bundled wheels)."""
    avail = {k: md["version"] for k, md in pkgs.items()}
    extras_of: dict[str, set[str]] = {k: set() for k in pkgs}
    for md in pkgs.values():
        for r in md["requires"]:
            req = Requirement(r)
            k = canonicalize_name(req.name)
            if k in extras_of and req.extras and (req.marker is None or any(
                    req.marker.evaluate(dict(TARGET_ENV, extra=e)) for e in [""])):
                extras_of[k] |= set(req.extras)
    gaps = 0
    for key, md in sorted(pkgs.items()):
        if md.get("requires_python"):
            try:
                ok = SpecifierSet(md["requires_python"]).contains(TARGET_ENV["python_full_version"])
            except Exception:  # malformed Requires-Python: pip ignores it too
                ok = True
            if not ok:
                print(f"GAP {md['name']} {md['version']}: Requires-Python {md['requires_python']} excludes 3.12")
                gaps += 1
        for req in active_reqs(md, extras_of.get(key, set())):
            k = canonicalize_name(req.name)
            if k in avail:
                if not satisfied(req, avail[k]):
                    print(f"GAP {md['name']} {md['version']} needs {req} but bundle has {avail[k]}")
                    gaps += 1
            elif k in provided:
                if not satisfied(req, provided[k]):
                    print(f"GAP {md['name']} {md['version']} needs {req} but {label} has {provided[k]}")
                    gaps += 1
            elif k in dropped:
                print(f"dropped on purpose: {md['name']} {md['version']} needs {req}")
            else:
                print(f"GAP {md['name']} {md['version']} needs {req}: not in bundle nor {label}")
                gaps += 1
    print(f"check: {len(pkgs)} wheels against bundle + {label}: {gaps} gap(s)")
    return 1 if gaps else 0


def cmd_check(a) -> int:
    pkgs = load_dir(Path(a.dir))
    provided: dict[str, str | None] = {}
    for h in a.host:
        name, _, ver = h.partition("==")
        provided[canonicalize_name(name)] = ver or None
    return check(pkgs, provided, "host list", {canonicalize_name(n) for n in a.dropped})


def cmd_check_installed(a) -> int:
    import importlib.metadata as im
    pkgs = load_dir(Path(a.dir))
    provided: dict[str, str | None] = {}
    for dist in im.distributions():
        name = dist.metadata["Name"]
        if name:
            provided.setdefault(canonicalize_name(name), dist.version)
    return check(pkgs, provided, "host", {canonicalize_name(n) for n in a.dropped})


def cmd_report(a) -> int:
    """Human summary of a graph JSON; writes the bundle's file names (one a line) to --files."""
    g = json.load(open(a.graph))
    rows = g["rows"]
    mib = lambda b: f"{b / 2**20:8.1f} MiB"  # noqa: E731
    for status in ("bundle", "dropped", "host", "unused"):
        sel = sorted((r for r in rows if r["status"] == status), key=lambda r: -r["size"])
        print(f"== {status}: {len(sel)} wheels, {mib(sum(r['size'] for r in sel))}")
        for r in sel:
            if status in ("bundle", "dropped") or a.verbose:
                print(f"  {mib(r['size'])}  {r['key']}=={r['version']}  <- {', '.join(r['required_by'])}")
    if g["missing"]:
        print("== MISSING (required, no wheel downloaded, not on host):", " ".join(g["missing"]))
    if a.files:
        with open(a.files, "w") as f:
            for r in rows:
                if r["status"] == "bundle":
                    f.write(r["file"] + "\n")
    if a.dropped:
        with open(a.dropped, "w") as f:
            for r in rows:
                if r["status"] == "dropped":
                    f.write(r["key"] + "\n")
    return 1 if g["missing"] else 0


def cmd_store_wheels(a) -> int:
    """Rewrite wheels uncompressed (ZIP_STORED; same members, order and attributes) so that xz over the
    whole archive compresses them far better than their own deflate. RECORD hashes cover file contents,
    not the zip encoding, so pip installs them unchanged."""
    dst = Path(a.dst)
    dst.mkdir(parents=True, exist_ok=True)
    for name in a.files:
        src = Path(a.src) / name
        out = dst / name
        with zipfile.ZipFile(src) as zi, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zo:
            for info in zi.infolist():
                ni = zipfile.ZipInfo(info.filename, info.date_time)
                ni.external_attr, ni.create_system = info.external_attr, info.create_system
                ni.compress_type = zipfile.ZIP_STORED
                zo.writestr(ni, zi.read(info))
        with zipfile.ZipFile(out) as zt:  # integrity: every member's CRC
            bad = zt.testzip()
            if bad:
                raise SystemExit(f"{out}: bad member {bad}")
    return 0


def cmd_pth_paths(a) -> int:
    """sys.path entries that the *.pth files of a --target dir would add (PYTHONPATH does not read them)."""
    import site
    target = str(Path(a.site).resolve())
    if target not in sys.path:
        sys.path.insert(0, target)
    before = list(sys.path)
    site.addsitedir(target)
    for p in sys.path:
        if p not in before and Path(p).resolve() != Path(target):
            print(p)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pick-vllm")
    p.add_argument("--torch", required=True)
    p.add_argument("--index", default="https://pypi.org/simple")
    p.add_argument("--max-checks", type=int, default=0)
    p.set_defaults(fn=cmd_pick_vllm)
    p = sub.add_parser("graph")
    p.add_argument("dir")
    p.add_argument("--root", action="append", default=[], help="requirement the bundle must satisfy")
    p.add_argument("--host-root", action="append", default=[],
                   help="preinstalled on the host together with its whole dependency closure")
    p.add_argument("--host", action="append", default=[], help="name preinstalled on the host (deps not assumed)")
    p.add_argument("--drop", action="append", default=[], help="name to leave out on purpose")
    p.add_argument("--drop-regex", action="append", default=[], help="regex on normalized names to leave out")
    p.add_argument("--keep", action="append", default=[], help="name to bundle even if matched above")
    p.set_defaults(fn=cmd_graph)
    p = sub.add_parser("check")
    p.add_argument("dir")
    p.add_argument("--host", action="append", default=[], help="NAME or NAME==VERSION the host provides")
    p.add_argument("--dropped", action="append", default=[], help="left out on purpose: reported, not a gap")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("check-installed")
    p.add_argument("dir")
    p.add_argument("--dropped", action="append", default=[])
    p.set_defaults(fn=cmd_check_installed)
    p = sub.add_parser("report")
    p.add_argument("graph")
    p.add_argument("--files")
    p.add_argument("--dropped")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(fn=cmd_report)
    p = sub.add_parser("store-wheels")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_store_wheels)
    p = sub.add_parser("pth-paths")
    p.add_argument("site")
    p.set_defaults(fn=cmd_pth_paths)
    a = ap.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
