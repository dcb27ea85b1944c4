"""Settings: the variables read are the ones docs/configuration.md lists, and each keeps its parsing rule."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from oss_tldr.errors import ConfigurationError
from oss_tldr.settings import DEFAULT_CORS_ORIGINS, Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


class RecordingEnv(Mapping[str, str]):
    """An environment that remembers every variable name it was asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self.values[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the settings must ask for their variables by name, not list the environment")

    def __len__(self) -> int:
        return len(self.values)


def variables_read() -> set[str]:
    asked: set[str] = set()
    # locally, then as a Lambda: some variables only matter (and are only read) in AWS
    for values in ({}, {"AWS_LAMBDA_FUNCTION_NAME": "oss-tldr-report"}):
        env = RecordingEnv(values)
        Settings.from_env(env)
        asked |= env.asked
    return asked


def variables_documented() -> set[str]:
    names: set[str] = set()
    for line in DOC.read_text().splitlines():
        if not line.startswith("|") or set(line) <= {"|", "-", " "}:
            continue
        first_column = line.split("|")[1]
        names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_column))
    return names


def test_the_settings_read_exactly_the_variables_docs_configuration_lists():
    read, documented = variables_read(), variables_documented()
    assert read - documented == set(), "read by Settings but missing from docs/configuration.md"
    assert documented - read == set(), "documented in docs/configuration.md but read by no setting"


def test_the_region_falls_back_to_aws_default_region_then_us_east_1():
    assert Settings.from_env({"AWS_DEFAULT_REGION": "eu-west-1"}).aws_region == "eu-west-1"
    both = {"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert Settings.from_env(both).aws_region == "eu-central-1"
    assert Settings.from_env({"AWS_REGION": ""}).aws_region == "us-east-1"


@pytest.mark.parametrize(
    ("env", "in_aws", "tracing"),
    [
        ({}, False, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f"}, True, True),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "OSS_TLDR_LOCAL": "true"}, False, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "POWERTOOLS_TRACE_DISABLED": "1"}, True, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "POWERTOOLS_TRACE_DISABLED": "false"}, True, True),
        ({"POWERTOOLS_TRACE_DISABLED": "false"}, False, False),
    ],
)
def test_in_aws_and_tracing_follow_the_lambda_variables(env, in_aws, tracing):
    settings = Settings.from_env(env)
    assert (settings.in_aws, settings.tracing_enabled) == (in_aws, tracing)


def test_lists_admin_logins_lower_cased_and_cors_origins_with_their_default():
    settings = Settings.from_env(
        {"ADMIN_LOGINS": " Alice, BOB ,,", "CORS_ALLOW_ORIGINS": "https://a, https://b"}
    )
    assert settings.admin_logins == frozenset({"alice", "bob"})
    assert settings.is_admin("ALICE") and not settings.is_admin("carol")
    assert settings.cors_allow_origins == ("https://a", "https://b")
    assert Settings.from_env({}).cors_allow_origins == DEFAULT_CORS_ORIGINS
    assert Settings.from_env({"CORS_ALLOW_ORIGINS": ""}).cors_allow_origins == ()


def test_empty_values_take_the_defaults_and_urls_lose_their_trailing_slash():
    settings = Settings.from_env({"DB_NAME": "", "DB_PORT": "", "GITHUB_API_URL": "http://127.0.0.1:9/api/"})
    assert (settings.db_name, settings.db_port) == ("oss_tldr", 5432)
    assert settings.github_api_url == "http://127.0.0.1:9/api"
    assert settings.local_state_dir == Path(".oss-tldr")
    assert Settings.from_env({"OSS_TLDR_STATE_DIR": "/srv/oss-tldr"}).local_state_dir == Path("/srv/oss-tldr")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DB_PORT": "x"}, "DB_PORT must be an integer, got 'x'"),
        ({"DB_PORT": "0"}, "DB_PORT must be >= 1, got 0"),
        ({"SESSION_TTL_SECONDS": "59"}, "SESSION_TTL_SECONDS must be >= 60, got 59"),
        ({"GITHUB_TIMEOUT_SECONDS": "soon"}, "GITHUB_TIMEOUT_SECONDS must be a number, got 'soon'"),
        (
            {"OPENAI_TIMEOUT_SECONDS": "nan"},
            "OPENAI_TIMEOUT_SECONDS must be a finite number >= 0.5, got 'nan'",
        ),
        ({"GITHUB_WEB_URL": "github.com/"}, "GITHUB_WEB_URL must be an http(s) URL, got 'github.com'"),
    ],
)
def test_a_value_that_does_not_parse_names_its_variable(env, message):
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)
    assert str(caught.value) == message


def test_secrets_stay_out_of_the_repr():
    settings = Settings.from_env(
        {
            "GITHUB_CLIENT_SECRET": "secret-one",
            "GITHUB_TOKEN": "secret-two",
            "GITHUB_WEBHOOK_SECRET": "secret-three",
            "OPENAI_API_KEY": "secret-four",
        }
    )
    assert "secret-" not in repr(settings)
