"""Every name the system keeps as a string resolves, and every list of names is complete.

Blueprints, model modules, job handler modules, command groups, platform tasks, demo steps, the
rq function path, the gunicorn app path and the console script are kept as dotted strings (so
importing one module does not import them all). A typo or a moved module would only fail at run
time, on the path that uses it; here each string is imported and resolved, and the tree is read
for blueprints, tables, handlers and commands that no list names."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib import import_module
from pathlib import Path

import click
import pytest
from flask import Blueprint

from slrt.platform.blueprints import API_BLUEPRINTS, WEB_BLUEPRINTS
from slrt.platform.commands.demo import DEMO_REMINDERS, DEMO_STEPS
from slrt.platform.commands.main import COMMAND_GROUPS
from slrt.platform.commands.serve import WSGI_APP
from slrt.platform.jobs.handlers import JOB_HANDLER_MODULES
from slrt.platform.jobs.queue import RUNNER
from slrt.platform.jobs.scheduler import PLATFORM_TASKS, SCHEDULES
from slrt.platform.models import MODEL_MODULES

ROOT = Path(__file__).resolve().parents[2]
TOPS = {"platform": "slrt.platform", "tenants": "slrt.tenants", "auth": "slrt.auth"}
TOPS["billing_free"] = "slrt.billing_free"


def resolve(spec: str) -> object:
    """ "pkg.module:attr" or "pkg.module.attr" -> the object."""
    if ":" in spec:
        module, attr = spec.split(":")
    else:
        module, _, attr = spec.rpartition(".")
    return getattr(import_module(module), attr)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join([TOPS[parts[0]], *parts[1:]])


def source_modules() -> list[tuple[str, str]]:
    return [
        (module_name(path), path.read_text())
        for top in TOPS
        for path in sorted((ROOT / top).rglob("*.py"))
    ]


@pytest.mark.parametrize("spec", API_BLUEPRINTS + WEB_BLUEPRINTS)
def test_every_blueprint_string_resolves_to_a_blueprint(spec: str) -> None:
    assert isinstance(resolve(spec), Blueprint)


def test_every_blueprint_in_the_tree_is_registered() -> None:
    listed = set(API_BLUEPRINTS + WEB_BLUEPRINTS)
    defined = set()
    for module, _source in source_modules():
        if module == "slrt.platform.bench":
            continue
        for name, obj in vars(import_module(module)).items():
            # a blueprint is made in the module named by its import_name
            if isinstance(obj, Blueprint) and obj.import_name == module:
                defined.add(f"{module}:{name}")
    assert defined - listed == set(), "blueprints defined but never registered"
    assert listed - defined == set(), "registered names that no module defines"


@pytest.mark.parametrize("module", MODEL_MODULES)
def test_every_model_module_imports(module: str) -> None:
    import_module(module)


def test_every_table_is_defined_in_a_listed_model_module() -> None:
    from slrt.platform.db import Base

    modules = {mapper.class_.__module__ for mapper in Base.registry.mappers}
    assert modules <= set(MODEL_MODULES), modules - set(MODEL_MODULES)
    assert set(MODEL_MODULES) <= modules, "listed modules that define no table"


def test_every_job_handler_module_is_listed_and_every_kind_resolves() -> None:
    from slrt.platform.jobs.handlers import handler_for, load_handlers

    declaring = {m for m, source in source_modules() if re.search(r"^@job_handler\(", source, re.M)}
    # `make bench` registers its own measuring jobs, only when it runs
    assert declaring - {"slrt.platform.bench"} == set(JOB_HANDLER_MODULES)
    load_handlers()
    for schedule in SCHEDULES:
        if schedule.kind not in PLATFORM_TASKS:
            assert handler_for(schedule.kind).kind == schedule.kind


@pytest.mark.parametrize("spec", sorted(PLATFORM_TASKS.values()))
def test_every_platform_task_resolves_to_a_function(spec: str) -> None:
    assert callable(resolve(spec))


@pytest.mark.parametrize("spec", COMMAND_GROUPS)
def test_every_command_group_resolves(spec: str) -> None:
    assert isinstance(resolve(spec), click.Command)


def test_every_top_level_command_is_listed() -> None:
    listed = set(COMMAND_GROUPS)
    defined = set()
    for module, source in source_modules():
        for node in ast.parse(source).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                text = ast.unparse(deco)
                if text.startswith(("click.command", "click.group")):
                    defined.add(f"{module}:{node.name}")
    assert defined - {"slrt.platform.commands.main:main"} == listed  # the root group holds them


def test_demo_steps_and_reminders_are_functions() -> None:
    assert DEMO_STEPS and all(callable(step) for step in DEMO_STEPS + DEMO_REMINDERS)


def test_the_rq_runner_path_and_its_older_name_resolve() -> None:
    from slrt.platform.jobs.runner import run_job

    assert resolve(RUNNER) is run_job
    # rq keeps the dotted path in each queued job: jobs queued before the area packages name
    # the old module, which must keep answering.
    assert resolve("slrt.platform.jobs_runner.run_job") is run_job


def test_the_wsgi_app_path_resolves(app) -> None:
    from flask import Flask

    assert isinstance(resolve(WSGI_APP), Flask)


def test_the_console_script_resolves() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert callable(resolve(scripts["slrt"]))
