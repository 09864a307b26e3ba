"""Server-streaming RPCs as Server-Sent Events."""

import json


def events(text: str) -> list[tuple[str, dict]]:
    parsed = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        kind = "message"
        data = ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                data += line[len("data: ") :]
        parsed.append((kind, json.loads(data)))
    return parsed


async def test_expand_streams_each_message_as_an_event(gateway):
    response = await gateway.get("/v1/echo:expand?message=hi&count=3&interval=0.01s")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-request-id"]
    received = events(response.text)
    assert [kind for kind, _ in received] == ["message"] * 3
    assert [data.get("sequence", 0) for _, data in received] == [0, 1, 2]
    assert all(data["request"]["message"] == "hi" for _, data in received)


async def test_empty_stream_is_an_empty_event_stream(gateway):
    response = await gateway.get("/v1/echo:expand?message=hi&count=0")
    assert response.status_code == 200
    assert response.text == ""


async def test_error_before_the_first_message_is_an_http_error(gateway):
    response = await gateway.get("/v1/echo:expand?message=hi&count=-1")
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


async def test_stream_reads_incrementally(gateway):
    async with gateway.stream(
        "GET", "/v1/echo:expand?message=s&count=2&interval=0.05s"
    ) as response:
        chunks = [chunk async for chunk in response.aiter_text()]
    assert len(events("".join(chunks))) == 2
