"""Writing the site: pages, figures and their JSON into a staging folder, then one swap.

A failed or killed build never touches the previous site: everything is written beside it first.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from lmreport.errors import LmreportError
from lmreport.site.info import SiteInfo
from lmreport.site.pages import write_pages
from lmreport.source.lessons import Lesson

log = logging.getLogger("lmreport")


MARKER = ".lmreport-site"


def recover(site_dir: Path) -> None:
    """Tidy up after builds that were killed: a build that died between its two renames left the previous
    site beside its place, so put it back; staging folders of dead builds are removed. Names are compared
    as plain text (a site called 's*' must not match another site's backups)."""
    parent = Path(site_dir).parent
    if not parent.is_dir():
        return
    old, new = f".{site_dir.name}.old-", f".{site_dir.name}.new-"
    for name in sorted(os.listdir(parent), key=lambda n: not n.startswith(old)):
        prefix = old if name.startswith(old) else new if name.startswith(new) else None
        pid = _pid_of(name[len(prefix):]) if prefix else None
        if pid is None or _alive(pid):
            continue
        path = parent / name
        if prefix == old and not os.path.lexists(site_dir):
            os.rename(path, site_dir)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _pid_of(rest: str) -> int | None:
    match = re.match(r"(\d+)(?:-|$)", rest)
    return int(match.group(1)) if match else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_replaceable(site_dir: Path) -> None:
    """Refuse to replace a folder lmreport did not make (a typo in -o must not delete user files)."""
    for ancestor in Path(site_dir).absolute().parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise LmreportError(f"cannot write the site into '{site_dir}': '{ancestor}' is a file, not a folder")
            break
    if site_dir.exists():
        if not site_dir.is_dir():
            raise LmreportError(f"output '{site_dir}' exists and is not a folder")
        if not (site_dir / MARKER).exists() and any(site_dir.iterdir()):
            raise LmreportError(
                f"output folder '{site_dir}' is not empty and was not made by lmreport; not replacing it"
            )


def write_site(site_dir: Path, lessons: list[Lesson], info: SiteInfo, nonce: str) -> int:
    """Write every page into a staging folder and swap it in; return the number of pages."""
    site_dir = Path(site_dir)
    recover(site_dir)
    check_replaceable(site_dir)
    try:
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=site_dir.parent, prefix=f".{site_dir.name}.new-{os.getpid()}-"))
    except OSError as e:
        raise LmreportError(f"cannot write beside '{site_dir}': {e.strerror}") from None
    try:
        pages = write_pages(staging, lessons, info, nonce)
        _copy_files(staging, site_dir, info)
        (staging / MARKER).write_text("made by lmreport; the whole folder is replaced at each build\n")
        (staging / ".nojekyll").write_text("")  # GitHub Pages: serve the site as it is (no Jekyll)
        _swap(staging, site_dir)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise LmreportError(f"cannot write the site into '{site_dir}': {e}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return pages


def _copy_files(staging: Path, site_dir: Path, info: SiteInfo) -> None:
    """Files the lessons link to, at their paths; the extra folder's files at the top (never over a file the
    build wrote); a CNAME the previous site had and the course does not is kept, with a warning."""
    for relative, source in sorted(info.files.items()):
        target = staging / relative
        if target.exists() or relative.split("/")[0] in {v.folder for v in info.sites if v.folder}:
            raise LmreportError(f"'{source}', which a lesson links to, would replace the site's own "
                                f"'{relative}': rename it")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    if info.extra is not None:
        for source in sorted(info.extra.rglob("*")):
            relative = source.relative_to(info.extra)
            if any(part.startswith(".") and part != ".well-known" for part in relative.parts):
                continue
            if source.is_symlink():  # one rule for links to files and to folders: the site holds only plain files
                raise LmreportError(f"'{source}' in the extra folder is a link; only plain files and folders are "
                                    "copied")
            if source.is_dir():
                continue
            target = staging / relative
            if target.exists() or relative.parts[0] in ("assets", "data", "compare"):
                raise LmreportError(f"'{source}' in the extra folder would replace the site's own "
                                    f"'{relative.as_posix()}': rename it")
            if source.is_symlink() or not source.is_file():
                raise LmreportError(f"'{source}' in the extra folder is not a plain file")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    old_cname = Path(site_dir) / "CNAME"
    if not (staging / "CNAME").exists() and old_cname.is_file() and not old_cname.is_symlink():
        shutil.copyfile(old_cname, staging / "CNAME")
        log.warning("kept the CNAME of the previous site; put it in the lessons' extra/ folder so that every build "
                    "writes it")


def _swap(staging: Path, site_dir: Path) -> None:
    os.chmod(staging, 0o755)
    if not site_dir.exists():
        os.rename(staging, site_dir)
        return
    old = site_dir.with_name(f".{site_dir.name}.old-{os.getpid()}")
    os.rename(site_dir, old)
    os.rename(staging, site_dir)
    shutil.rmtree(old, ignore_errors=True)
