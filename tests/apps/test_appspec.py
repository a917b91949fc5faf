"""Every app declares itself in one `AppSpec`; the plumbing reads only that."""

import dataclasses
import inspect

import pytest

from attention_suite.apps import cli, client
from attention_suite.apps.common.cli import commands
from attention_suite.apps.common.cli.appspec import AppSpec
from attention_suite.apps.common.serving.pipeline import Pipeline


def test_each_app_has_a_frozen_spec_with_its_api():
    assert [spec.command for spec in cli.APPS] == [
        "translate",
        "summarize",
        "qa",
        "traffic",
    ]
    for spec in cli.APPS:
        assert isinstance(spec, AppSpec)
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.command = "other"
        assert spec.signatures[0] == "serving_default"
        load = inspect.signature(spec.load)
        assert list(load.parameters) == ["path"]
        for entry in (spec.train, spec.evaluate):
            # The API's own functions, documented for users.
            assert entry.__module__.endswith(".api") and entry.__doc__
        for entry in (spec.load, spec.export):
            # The app's pipeline loads and exports its runs.
            assert issubclass(entry.__self__, Pipeline) and entry.__doc__
            assert entry.__self__.folder == spec.folder


def test_the_plumbing_finds_no_app_by_module_name():
    for module in (cli, client, commands):
        assert "importlib" not in inspect.getsource(module).replace(
            "importlib.metadata", ""
        )


@pytest.mark.parametrize(
    "names",
    [("translation", "translate"), ("summarization", "summarize")],
)
def test_the_client_takes_the_command_or_the_folder(names):
    parser = cli.build_parser()
    parsed = [
        parser.parse_args(
            ["client", name, "--url", "http://localhost:8501", "A dog."]
        )
        for name in names
    ]
    assert parsed[0].handler.keywords == parsed[1].handler.keywords
    assert parsed[0].model == parsed[1].model == names[0]


def test_load_refuses_what_is_neither_a_run_nor_an_export(tmp_path):
    from attention_suite.apps import traffic

    with pytest.raises(FileNotFoundError, match="not a trained traffic run"):
        traffic.load(tmp_path)
    assert issubclass(traffic.TrafficPipeline, Pipeline)
