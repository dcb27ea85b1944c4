"""The template's EventBridge Scheduler schedules, created through moto's Scheduler API exactly as SAM would
(expression, flexible window, retry policy, dead-letter queue, input), and their input — filled in the way the
Scheduler fills its context attributes — is the shape of the events/*_schedule.json sample, which the
function's handler runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto import mock_aws

from tools.lambda_local import ROOT, functions

ACCOUNT, REGION = "123456789012", "us-east-1"


def _schedules() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, props in functions().items():
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "ScheduleV2":
                found.append((logical_id, event["Properties"]))
    return found


SCHEDULES = _schedules()


def _input(props: dict[str, Any], schedule_arn: str) -> dict[str, Any]:
    """The Input as the Scheduler delivers it: ${AWS::...} substituted by CloudFormation, <aws.scheduler.*>
    context attributes by the Scheduler."""
    text = props["Input"]["Fn::Sub"]
    for name, value in {"${AWS::AccountId}": ACCOUNT, "${AWS::Region}": REGION}.items():
        text = text.replace(name, value)
    for name, value in {
        "<aws.scheduler.execution-id>": "d32c5kddcf5bb8c3",
        "<aws.scheduler.scheduled-time>": "2026-12-02T03:02:00Z",
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.attempt-number>": "1",
    }.items():
        text = text.replace(name, value)
    return dict(json.loads(text))


def test_both_schedules_are_in_the_template():
    assert sorted(logical_id for logical_id, _ in SCHEDULES) == ["CleanupFunction", "WarmingFunction"]


@pytest.mark.parametrize(("logical_id", "props"), SCHEDULES, ids=[s[0] for s in SCHEDULES])
@mock_aws
def test_the_schedule_is_accepted_by_the_scheduler_api_with_its_retry_policy_and_dead_letter_queue(
    logical_id, props
):
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="scheduler-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    scheduler = boto3.client("scheduler", region_name=REGION)
    name = props["Name"]["Fn::Sub"].replace("${Stage}", "prod")
    schedule_arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{name}"
    assert props["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": "SchedulerDeadLetterQueue.Arn"}
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=props["ScheduleExpression"],
        FlexibleTimeWindow=props["FlexibleTimeWindow"],
        Target={
            "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{logical_id}-schedule",
            "Input": json.dumps(_input(props, schedule_arn)),
            "RetryPolicy": props["RetryPolicy"],
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    )
    stored = scheduler.get_schedule(Name=name)
    assert stored["ScheduleExpression"] == props["ScheduleExpression"]
    assert stored["Target"]["RetryPolicy"] == props["RetryPolicy"]
    assert stored["Target"]["DeadLetterConfig"] == {"Arn": dlq_arn}
    assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1


@pytest.mark.parametrize(("logical_id", "props"), SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_the_schedules_input_has_the_shape_of_its_sample_event(logical_id, props):
    sample_name = {"CleanupFunction": "cleanup_schedule.json", "WarmingFunction": "warming_schedule.json"}
    sample = json.loads((ROOT / "events" / sample_name[logical_id]).read_text())
    delivered = _input(props, sample["resources"][0])
    assert set(delivered) == set(sample)
    assert delivered["source"] == sample["source"] == "aws.scheduler"
    assert delivered["detail-type"] == sample["detail-type"] == "Scheduled Event"
    assert set(delivered["detail"]) == set(sample["detail"])
