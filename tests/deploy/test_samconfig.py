"""samconfig.toml (issue 13, item 4): a dev and a prod environment, each naming only parameters the template
has (with values it allows), prod confirming its change sets, both linting on validate."""

from __future__ import annotations

import re
import shlex
import tomllib

import pytest

from tools.lambda_local import ROOT, load_template

CONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
ENVIRONMENTS = ("default", "dev", "prod")


def overrides(environment: str) -> dict[str, str]:
    """``parameter_overrides`` ("Key=\\"value\\" ...") as a mapping."""
    text = CONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
    pairs = [item.partition("=") for item in shlex.split(text)]
    assert all(sep == "=" for _, sep, _ in pairs), text
    return {key: value for key, _, value in pairs}


def test_the_overrides_parser_reads_quoted_values():
    assert overrides("dev")["Stage"] == "dev"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_parameter_an_environment_sets_is_one_the_template_has_with_a_value_it_allows(environment):
    parameters = load_template()["Parameters"]
    for key, value in overrides(environment).items():
        assert key in parameters, f"{environment}: {key} is not a template parameter"
        spec = parameters[key]
        if "AllowedValues" in spec:
            assert value in spec["AllowedValues"], (environment, key, value)
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), (environment, key, value)
        if spec["Type"] == "Number":
            assert float(value) >= spec.get("MinValue", float("-inf")), (environment, key, value)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_deploys_with_iam_capabilities_an_s3_bucket_and_lints(environment):
    deploy = CONFIG[environment]["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in deploy["capabilities"].split()
    assert deploy["resolve_s3"] is True
    assert CONFIG[environment]["validate"]["parameters"]["lint"] is True


def test_dev_and_prod_are_separate_stacks_and_stages_and_only_prod_asks_before_changing():
    stacks = {env: CONFIG[env]["global"]["parameters"]["stack_name"] for env in ("dev", "prod")}
    assert stacks["dev"] != stacks["prod"]
    assert overrides("dev")["Stage"] == "dev" and overrides("prod")["Stage"] == "prod"
    assert CONFIG["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    assert CONFIG["dev"]["deploy"]["parameters"]["confirm_changeset"] is False
    # `sam deploy --guided` (the default environment) is the prod stack, asking too
    assert CONFIG["default"]["global"]["parameters"]["stack_name"] == stacks["prod"]
    assert CONFIG["default"]["deploy"]["parameters"]["confirm_changeset"] is True


def test_tracing_is_off_in_dev_and_on_in_prod():
    assert overrides("dev")["TracingMode"] == "PassThrough"
    assert overrides("prod")["TracingMode"] == "Active"


def test_no_account_specific_parameter_is_committed():
    for environment in ENVIRONMENTS:
        assert not {"VpcId", "PrivateSubnetIds", "GitHubClientSecretArn", "OpenAIApiKeyArn"} & set(
            overrides(environment)
        )


def test_make_deploy_saves_the_guided_answers_in_the_git_ignored_local_copy_not_the_committed_file():
    rule = re.search(r"^deploy:.*?(?=^\S|\Z)", (ROOT / "Makefile").read_text(), re.MULTILINE | re.DOTALL)
    assert rule is not None
    assert "cp samconfig.toml samconfig.local.toml" in rule[0]
    assert "--guided --config-file samconfig.local.toml" in rule[0]
    assert "samconfig.local.toml" in (ROOT / ".gitignore").read_text().splitlines()
