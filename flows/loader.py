"""Load the flow files into one validated :class:`Book` of screens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flows.errors import FlowError
from flows.schema import Flow, Option, OptionList, Screen

CONTENT_DIR = Path(__file__).resolve().parent / "content"
LISTS_DIRNAME = "lists"  # beside the content folder: flows/lists/

HOME = "main.menu"
LANGUAGE = "language.choose"


class FlowErrors(Exception):
    """Every fault found while loading, so an author fixes them in one pass."""

    def __init__(self, errors: list[FlowError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True, slots=True)
class Book:
    """All screens of all flows, addressed by ``flow.screen``."""

    flows: dict[str, Flow]
    screens: dict[str, Screen]
    files: dict[str, str]  # flow id -> file name, for messages that point at the source
    # Features this deployment lacks (e.g. "reporting" with no caseworker keys configured).
    disabled: frozenset[str] = frozenset()

    def screen(self, ref: str) -> Screen:
        """The screen at ``ref``; raises ``KeyError`` for an unknown one."""
        return self.screens[ref]

    def parent(self, ref: str) -> str:
        """Where "back" leads from ``ref``."""
        flow_id, name = ref.split(".", 1)
        flow = self.flows[flow_id]
        declared = flow.screens[name].parent
        if declared is not None:
            return qualify(flow_id, declared)
        if name != flow.start:
            return f"{flow_id}.{flow.start}"
        return HOME

    def arrive(self, ref: str) -> str:
        """The screen shown for ``ref``: itself, or its stand-in if it needs a disabled feature."""
        flow_id, name = ref.split(".", 1)
        screen = self.flows[flow_id].screens[name]
        if screen.requires in self.disabled and screen.otherwise is not None:
            return qualify(flow_id, screen.otherwise)
        return ref

    def without(self, *features: str) -> Book:
        """This book for a deployment that lacks ``features``."""
        return replace(self, disabled=self.disabled | frozenset(features))

    def flow_of(self, ref: str) -> str:
        return ref.split(".", 1)[0]


def qualify(flow_id: str, ref: str) -> str:
    """``screen`` inside ``flow_id`` becomes ``flow_id.screen``; ``flow.screen`` stays."""
    return ref if "." in ref else f"{flow_id}.{ref}"


def screen_targets(flow_id: str, screen: Screen) -> Iterator[str]:
    """Every screen reference a screen's buttons, question and parent name."""
    for row in screen.rows():
        for button in row:
            if button.go is not None:
                yield qualify(flow_id, button.go)
    if screen.question is not None:
        yield qualify(flow_id, screen.question.next)
        for option in screen.question.options:
            if option.go is not None:
                yield qualify(flow_id, option.go)
    if screen.otherwise is not None:
        yield qualify(flow_id, screen.otherwise)
    if screen.then is not None:
        yield qualify(flow_id, screen.then)
    if screen.parent is not None:
        yield qualify(flow_id, screen.parent)


def _fault_location(err: dict[str, Any]) -> tuple[str | None, str]:
    loc = [str(p) for p in err["loc"]]
    screen = loc[1] if len(loc) > 1 and loc[0] == "screens" else None
    rest = loc[2:] if screen else loc
    where = ".".join(rest)
    return screen, f"{where}: {err['msg']}" if where else err["msg"]


def load_flow(path: Path) -> Flow:
    """Parse and validate one flow file."""
    name = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FlowErrors([FlowError(name, None, f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise FlowErrors([FlowError(name, None, "expected a mapping with flow, start, screens")])
    try:
        flow = Flow.model_validate(raw)
    except ValidationError as exc:
        errors = [FlowError(name, *_fault_location(dict(e))) for e in exc.errors()]
        raise FlowErrors(errors) from None
    if flow.flow != path.stem:
        raise FlowErrors([FlowError(name, None, f"flow id '{flow.flow}' must match the file name")])
    return flow


def load_lists(directory: Path) -> dict[str, tuple[Option, ...]]:
    """Shared option lists by name (file stem)."""
    lists: dict[str, tuple[Option, ...]] = {}
    errors: list[FlowError] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            lists[path.stem] = OptionList.model_validate(
                yaml.safe_load(path.read_text(encoding="utf-8"))
            ).options
        except (yaml.YAMLError, ValidationError) as exc:
            errors.append(FlowError(f"lists/{path.name}", None, f"not a valid option list: {exc}"))
    if errors:
        raise FlowErrors(errors)
    return lists


def _with_lists(flow: Flow, lists: dict[str, tuple[Option, ...]], file: str) -> Flow:
    screens: dict[str, Screen] = {}
    for name, screen in flow.screens.items():
        q = screen.question
        if q is not None and q.options_from is not None:
            if q.options_from not in lists:
                raise FlowErrors([FlowError(file, name, f"unknown option list '{q.options_from}'")])
            q = q.model_copy(update={"options": lists[q.options_from]})
            screen = screen.model_copy(update={"question": q})
        screens[name] = screen
    return flow.model_copy(update={"screens": screens})


def load_book(directory: Path = CONTENT_DIR) -> Book:
    """Load every ``*.yaml`` flow in ``directory``; raise :class:`FlowErrors` listing all faults."""
    errors: list[FlowError] = []
    flows: dict[str, Flow] = {}
    files: dict[str, str] = {}
    try:
        lists = load_lists(directory.parent / LISTS_DIRNAME)
    except FlowErrors as exc:
        errors.extend(exc.errors)
        lists = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            flow = _with_lists(load_flow(path), lists, path.name)
        except FlowErrors as exc:
            errors.extend(exc.errors)
            continue
        flows[flow.flow] = flow
        files[flow.flow] = path.name
    screens = {
        f"{fid}.{name}": s for fid, flow in flows.items() for name, s in flow.screens.items()
    }
    for fid, flow in flows.items():
        for name, screen in flow.screens.items():
            for target in screen_targets(fid, screen):
                if target not in screens:
                    errors.append(FlowError(files[fid], name, f"unknown target '{target}'"))
    for required in (HOME, LANGUAGE):
        if not errors and required not in screens:
            errors.append(
                FlowError(directory.name, None, f"required screen '{required}' is missing")
            )
    if errors:
        raise FlowErrors(errors)
    return Book(flows=flows, screens=screens, files=files)
