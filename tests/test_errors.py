"""One home for every error and warning class (`riskmodel.errors`), all exported, one base for
bad input that the command line maps to exit code 2."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import riskmodel as rm
import riskmodel.errors as errors

PACKAGE = Path(rm.__file__).resolve().parent
BUILTIN_BASES = {"Exception", "ValueError", "TypeError", "RuntimeError", "UserWarning"}
INTERNAL = {
    # signals inside the YAML reader, always turned into ScenarioError/ResourceLimitError before
    # they leave riskmodel.scenarios.safe_yaml.read_yaml (tests/scenarios/test_hostile_yaml.py)
    "YAMLLimitError",
    "YAMLDuplicateKeyError",
    # the command line's own bad-input error (riskmodel.cli.common): raised by one command and
    # caught by riskmodel.cli.main (exit code 2, tests/test_cli_errors.py); it never leaves the CLI
    "BadInput",
}


def _classes_defined_outside_errors():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ClassDef):
                continue
            if node.name.startswith("_") or node.name in INTERNAL:
                continue  # private to one module, never raised to a caller
            bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
            if bases & BUILTIN_BASES or any(b.endswith(("Error", "Warning")) for b in bases):
                yield f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"


def test_every_exception_class_lives_in_riskmodel_errors():
    assert list(_classes_defined_outside_errors()) == []


def test_every_class_of_riskmodel_errors_is_exported():
    classes = [
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == errors.__name__
    ]
    assert sorted(classes) == sorted(errors.__all__)
    for name in classes:
        assert name in rm.__all__ and getattr(rm, name) is getattr(errors, name)


def test_one_base_for_bad_input_and_one_for_warnings():
    bad_input = [
        "ScenarioError", "PortfolioError", "PanelError", "MacroError", "DefaultDataError",
        "ModelFileError", "ComparisonError", "OutputDirError", "ArgumentError",
        "ResourceLimitError", "UnsafeFileError", "SchedulerError",
    ]  # fmt: skip
    for name in bad_input:
        cls = getattr(rm, name)
        assert issubclass(cls, rm.InputError) and issubclass(cls, ValueError), name
    assert not issubclass(rm.NotFittedError, rm.InputError)
    for name in ("ConvergenceWarning", "GapsSkippedWarning", "SensitivityWarning"):
        assert issubclass(getattr(rm, name), rm.RiskmodelWarning)
    assert issubclass(rm.TailResolutionWarning, rm.RiskmodelWarning)
    assert issubclass(rm.Terminated, KeyboardInterrupt)


def test_the_cli_maps_any_input_error_to_exit_2_without_traceback(monkeypatch, capsys, tmp_path):
    from riskmodel import cli

    made = {
        rm.ResourceLimitError: lambda: rm.ResourceLimitError("what was wrong; how to fix it"),
        rm.UnsafeFileError: lambda: rm.UnsafeFileError(None, [("", "what was wrong; fix")]),
        rm.ArgumentError: lambda: rm.ArgumentError("what was wrong; how to fix it"),
    }
    for make in made.values():

        def fail(*args, _make=make, **kwargs):
            raise _make()

        monkeypatch.setattr(rm, "load_scenario", fail)
        assert cli.main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert (
            err.startswith("riskmodel: error: ")
            and "what was wrong" in err
            and "Traceback" not in err
        )
