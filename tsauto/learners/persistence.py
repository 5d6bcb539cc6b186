"""Saving and loading learners and models: one checked archive format for every file tsauto
writes with ``save``."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
import zipfile
from pathlib import Path
from typing import ClassVar

from tsauto.data.io import check_output_path
from tsauto.errors import DataError, SettingsError

# A saved learner or model is a zip archive: a small JSON manifest, read and checked before
# anything is unpickled, and the pickled object whose SHA-256 the manifest records.
ARCHIVE_FORMAT = "tsauto-artifact"
ARCHIVE_VERSION = 1
_MANIFEST, _PAYLOAD = "manifest.json", "payload.pkl"


class Pickled:
    """``save(path)`` / ``load(path)``: learners and models are plain objects, pickled inside a
    zip archive with a manifest (format version, tsauto version, class, task, SHA-256 of the
    pickle).  ``load`` refuses any file whose manifest is missing or does not match before it
    unpickles anything.  Unpickling runs code: load only files from a trusted source."""

    kind_name: ClassVar[str] = "tsauto learner"  # what ``load`` expects, in words

    def save(self, path: str | Path) -> Path:
        from tsauto import __version__

        path = check_output_path(path, "save", "model.pkl")
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        kind = type(self)
        manifest = {"format": ARCHIVE_FORMAT, "format_version": ARCHIVE_VERSION,
                    "tsauto_version": __version__, "class": f"{kind.__module__}.{kind.__qualname__}",
                    "task": getattr(self, "task", None), "payload": _PAYLOAD,
                    "payload_bytes": len(payload),
                    "payload_sha256": hashlib.sha256(payload).hexdigest()}
        # Written aside, then renamed: a reader never sees half a file, and two writers of one
        # path leave one whole archive.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
                archive.writestr(_MANIFEST, json.dumps(manifest, indent=1))
                archive.writestr(_PAYLOAD, payload)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | Path):
        path = Path(path)
        manifest, payload = read_archive(path, cls)
        try:
            obj = pickle.loads(payload)
        except Exception as exc:  # a class renamed or removed since the file was written
            raise DataError(f"'{path}' could not be loaded: {type(exc).__name__}: {exc} (written "
                            f"by tsauto {manifest.get('tsauto_version')}).") from None
        if not isinstance(obj, cls):
            raise DataError(f"'{path}' holds a {type(obj).__name__}, not a {_expected(cls)}.")
        return obj


def read_archive(path: Path, cls: type) -> tuple[dict, bytes]:
    """The manifest and payload of a saved ``cls`` (or subclass), checked: what the file is,
    its format version, its class and its SHA-256.  Nothing is unpickled here."""
    from tsauto import __version__

    if not path.exists():
        raise SettingsError(f"model file '{path}' does not exist.")
    if path.is_dir():
        inside = path / "model.pkl"
        raise DataError(f"'{path}' is a directory, not a model file" + (
            f"; did you mean '{inside}'?" if inside.is_file() else
            "; pass the model file written by save or tsauto fit."))
    with open(path, "rb") as fh:
        head = fh.read(512)
    foreign = (f"'{path}' is not a tsauto model file ({{}}); a model file is a zip archive with "
               f"a manifest, written by model.save or tsauto fit. Nothing in it was loaded.")
    if not head:
        raise DataError(foreign.format("it is empty: 0 bytes"))
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK\x03\x04"):
            raise DataError(f"'{path}' is truncated or corrupt: it starts as a tsauto model "
                            f"archive but is not a complete one; write it again (model.save or tsauto fit).")
        raise DataError(foreign.format(_sniff(head)))
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if _MANIFEST not in names:
                raise DataError(foreign.format(f"a zip archive without {_MANIFEST}"))
            manifest = json.loads(archive.read(_MANIFEST))
            if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
                raise DataError(foreign.format(f"its {_MANIFEST} is not a tsauto manifest"))
            version = manifest.get("format_version")
            if not isinstance(version, int) or version > ARCHIVE_VERSION:
                raise DataError(f"'{path}' was written by tsauto {manifest.get('tsauto_version')} "
                                f"in model format {version!r}; this tsauto ({__version__}) reads "
                                f"format {ARCHIVE_VERSION} and older: upgrade tsauto.")
            kind = manifest.get("class")
            known = {f"{c.__module__}.{c.__qualname__}": c for c in _subclasses(Pickled)}
            if kind not in known or not issubclass(known[kind], cls):
                raise DataError(f"'{path}' holds a {kind!r}" + (
                    f" ({known[kind].kind_name})" if kind in known else
                    " (if it is a class of your own, import its module first)")
                    + f", not a {_expected(cls)}.")
            if manifest.get("payload") not in names:
                raise DataError(f"'{path}' is corrupt: its payload is missing.")
            payload = archive.read(manifest["payload"])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, UnicodeDecodeError,
            json.JSONDecodeError) as exc:
        raise DataError(f"'{path}' is truncated or corrupt ({type(exc).__name__}: {exc}); "
                        f"write it again (model.save or tsauto fit).") from None
    if len(payload) != manifest.get("payload_bytes") or \
            hashlib.sha256(payload).hexdigest() != manifest.get("payload_sha256"):
        raise DataError(f"'{path}' is corrupt: its payload does not match the SHA-256 in its "
                        f"manifest (damaged or altered); nothing was unpickled.")
    return manifest, payload


def _subclasses(cls: type) -> list[type]:
    found, todo = [cls], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def _sniff(head: bytes) -> str:
    """What a foreign file looks like, in words, from its first bytes."""
    if head[:1] == b"\x80":
        return "a raw pickle: tsauto unpickles nothing without its manifest, since a pickle can " \
               "run any code"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "an unknown binary file"
    lines = text.splitlines()[:2]
    for sep in (",", "\t", ";"):  # a table: its first lines split alike
        if len(lines) == 2 and lines[0].count(sep) == lines[1].count(sep) > 0:
            return "a CSV/text table: pass it as data, not as a model"
    return "a text file"


def _expected(cls) -> str:
    """What ``cls.load`` reads, in words: 'tsauto model', or one learner's class by name."""
    own = getattr(cls, "name", None)  # a learner's registry name; the base classes have none
    return f"{cls.kind_name} of class {cls.__qualname__} ('{own}')" if isinstance(own, str) and \
        own else cls.kind_name
