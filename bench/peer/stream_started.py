"""The Python peer of `bootstrap`'s `streamStarted` handler, for `make bench` (issue #7).

What a user would otherwise write: awslambdaric + boto3. It does the same job: an EventBridge
`IVS Stream State Change` event with `detail.event_name` "Stream Start" (or "Stream End") becomes an
IVS Chat `SendEvent` (`STREAM_STARTED` / `STREAM_ENDED`) to `CHAT_ROOM_ARN`, with the original event
as compact JSON in the attribute `event` (reduced to its id when over IVS Chat's 1 KB budget).
boto3 reads `AWS_ENDPOINT_URL_IVSCHAT`, so it talks to the same local IVS stand-in.
"""
import json
import os

import boto3

ROOM = os.environ.get("CHAT_ROOM_ARN") or os.environ["DEMO_CHAT_ARN"]
EVENT_NAMES = {"Stream Start": "STREAM_STARTED", "Stream End": "STREAM_ENDED"}
BUDGET = 1024

# Created at init, as Lambda users are told to.
chat = boto3.client("ivschat")


def handler(event, context):
    if event.get("source") != "aws.ivs" or event.get("detail-type") != "IVS Stream State Change":
        return {"sent": False, "reason": "not an IVS stream state change"}
    name = EVENT_NAMES.get(event.get("detail", {}).get("event_name"))
    if name is None:
        return {"sent": False, "reason": "stream event not mapped"}
    attributes = {"event": json.dumps(event, separators=(",", ":"), ensure_ascii=False)}
    reduced = len("event".encode()) + len(attributes["event"].encode()) > BUDGET
    if reduced:
        attributes = {"event": json.dumps({"id": event.get("id")}, separators=(",", ":")), "truncated": "true"}
    answer = chat.send_event(roomIdentifier=ROOM, eventName=name, attributes=attributes)
    print(f"sent {name} to {ROOM} for event {event.get('id')}: chat event {answer['id']}")
    return {"sent": True, "eventName": name, "room": ROOM, "chatEventId": answer["id"], "truncated": reduced}
