"""The provider adapter against a real HTTP server: retries, Retry-After, give-up messages, limits, Runware."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from core.ai import client
from core.ai.errors import AIProviderError
from core.ai.providers import ProviderConnection
from db.base import utcnow
from tests.ai.helpers import API_KEY, FAST
from tests.fakes.openai_server import PNG_1X1, FakeAI, File, Reply


@pytest.fixture
def server(fake: FakeAI) -> FakeAI:
    fake.reset()
    return fake


def conn(fake: FakeAI, provider: str = "test-openai", **config) -> ProviderConnection:
    # A provider id per test keeps the process-wide limiters of different tests apart.
    return ProviderConnection(provider, API_KEY, fake.url, {**FAST, **config})


def ask(c: ProviderConnection) -> client.ChatResult:
    return client.chat(c, model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=50,
                       temperature=0.2)


def test_retry_after_header_forms():
    assert client.retry_after_seconds(httpx.Headers({"retry-after": "3"})) == 3.0
    assert client.retry_after_seconds(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    date = format_datetime(utcnow() + timedelta(seconds=30), usegmt=True)
    assert 25 <= client.retry_after_seconds(httpx.Headers({"retry-after": date})) <= 30
    assert client.retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    assert client.retry_after_seconds(httpx.Headers({})) is None


def test_chat_returns_text_usage_and_finish_reason(server):
    server.reply_json({"ok": True}, prompt_tokens=11, completion_tokens=7)
    res = ask(conn(server))
    assert (res.text, res.prompt_tokens, res.completion_tokens, res.finish_reason, res.attempts) == (
        '{"ok": true}', 11, 7, "stop", 1)
    sent = server.posts("/chat/completions")[0]
    assert sent.json["response_format"] == {"type": "json_object"} and sent.json["max_tokens"] == 50
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["x-stainless-retry-count"] == "0"  # the SDK's own retries are off: ours count


def test_429_waits_for_retry_after_then_succeeds(server):
    server.fail(429, headers={"Retry-After": "1"}).reply_json({"ok": 1})
    res = ask(conn(server, "p-429"))
    first, second = server.posts("/chat/completions")
    assert res.attempts == 2
    assert second.started - first.finished >= 1.0  # the gap the server saw


def test_retry_after_ms_is_preferred(server):
    server.fail(429, headers={"retry-after-ms": "300", "Retry-After": "30"}).reply_json({"ok": 1})
    started = time.monotonic()
    assert ask(conn(server, "p-ms")).attempts == 2
    assert 0.3 <= time.monotonic() - started < 5


def test_persistent_500_gives_up_with_a_clear_message(server):
    server.fail(500, times=4)
    with pytest.raises(AIProviderError, match=r"keeps failing \(HTTP 500.*tried 4 times over \d+ s") as info:
        ask(conn(server, "p-500"))
    assert info.value.kind == "server_error" and info.value.attempts == 4
    assert len(server.posts("/chat/completions")) == 4


HTML_PAGE = "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"


def test_a_200_answer_with_an_html_body_is_retried(server):
    # A proxy in front of an OpenAI-compatible server answers 200 with its HTML error page: the SDK hands back the
    # raw text for a non-JSON content type; it is an unreadable answer, retried like a 5xx.
    server.chat.append(Reply(body=HTML_PAGE, content_type="text/html"))
    server.reply_json({"ok": 1})
    res = ask(conn(server, "p-html"))
    assert (res.text, res.attempts) == ('{"ok": 1}', 2)


def test_html_answers_only_give_up_with_a_clear_message(server):
    for _ in range(4):
        server.chat.append(Reply(body=HTML_PAGE, content_type="text/html; charset=utf-8"))
    with pytest.raises(AIProviderError, match="not JSON") as info:
        ask(conn(server, "p-html-4"))
    assert info.value.kind == "bad_response" and info.value.attempts == 4


def test_an_html_answer_to_an_image_request_is_retried(server):
    server.images.append(Reply(body=HTML_PAGE, content_type="text/html"))
    got = client.image(conn(server, "p-html-img"), model="dall-e-3", prompt="a cat")
    assert got.data == PNG_1X1 and len(server.posts("/images/generations")) == 2


def test_persistent_429_says_rate_limited(server):
    server.fail(429, times=4, headers={"Retry-After": "0"})
    with pytest.raises(AIProviderError, match="rate-limiting us; tried 4 times"):
        ask(conn(server, "p-429b"))


def test_a_retry_after_beyond_our_patience_gives_up_at_once(server):
    server.fail(429, headers={"Retry-After": "3600"})
    with pytest.raises(AIProviderError, match="asks us to wait 3600 s; tried 1 time"):
        ask(conn(server, "p-long"))
    assert len(server.posts("/chat/completions")) == 1


def test_timeout_is_retried_then_reported(server):
    server.slow(1.0).slow(1.0)
    with pytest.raises(AIProviderError, match=r"did not answer within 0.3 s; tried 2 times"):
        ask(conn(server, "p-slow", timeout_s=0.3, max_attempts=2))
    assert len(server.posts("/chat/completions")) == 2


def test_bad_key_is_not_retried(server):
    c = ProviderConnection("p-auth", "sk-wrong-key", server.url, FAST)
    with pytest.raises(AIProviderError, match=r"refused the API key \(HTTP 401\)"):
        ask(c)
    assert len(server.posts("/chat/completions")) == 1


def test_a_provider_echoing_our_key_does_not_leak_it(server):
    server.chat.append(Reply(status=400, body={"error": {"message": f"bad request for key {API_KEY}"}}))
    with pytest.raises(AIProviderError) as info:
        ask(conn(server, "p-echo"))
    assert API_KEY not in str(info.value) and "HTTP 400" in str(info.value)


def test_unreachable_endpoint():
    c = ProviderConnection("p-down", API_KEY, "http://127.0.0.1:9/v1", {**FAST, "max_attempts": 2})
    with pytest.raises(AIProviderError, match=r"Could not reach the AI provider p-down at http://127.0.0.1:9/v1"):
        ask(c)


def test_concurrency_limit_holds_across_threads(server):
    c = conn(server, "p-conc", max_concurrency=2)
    for _ in range(8):
        server.reply_json({"ok": 1}, delay=1.0)  # long enough that two overlap even on a loaded machine
    errors: list[BaseException] = []

    def work() -> None:
        try:
            ask(c)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert server.max_in_flight == 2  # parallel, but never more than the limit


def test_requests_per_minute_window(server):
    c = conn(server, "p-rpm", rpm=2, rate_window_s=0.5)
    for _ in range(4):
        server.reply_json({"ok": 1})
        ask(c)
    starts = [r.started for r in server.posts("/chat/completions")]
    assert starts[2] - starts[0] >= 0.45 and starts[3] - starts[1] >= 0.45


def test_dall_e_is_asked_for_b64_and_its_bytes_come_back(server):
    server.image_mode = "url"  # what DALL·E answers when response_format is not asked for
    got = client.image(conn(server), model="dall-e-3", prompt="a trail", size="1024x1024", quality="standard")
    assert got.data == PNG_1X1 and got.url is None and got.download_error == ""
    sent = server.posts("/images/generations")[0].json
    assert (sent["response_format"], sent["quality"]) == ("b64_json", "standard")
    assert [r.path for r in server.requests] == ["/v1/images/generations"]  # nothing to download


def test_gpt_image_models_are_not_sent_response_format(server):
    got = client.image(conn(server), model="gpt-image-1", prompt="a trail")
    assert got.data == PNG_1X1 and "response_format" not in server.posts("/images/generations")[0].json
    with pytest.raises(AIProviderError, match="HTTP 400.*response_format"):  # what OpenAI says if we did send it
        client.image(conn(server), model="gpt-image-1", prompt="a trail", b64_json=True)


def test_a_link_answer_is_downloaded_at_once_without_our_key(server):
    server.image_mode = "url"  # a compatible server that answers with a link it serves itself
    got = client.image(conn(server), model="flux-dev", prompt="a trail")
    assert "response_format" not in server.posts("/images/generations")[0].json  # not DALL·E: not asked for
    fetched = [r for r in server.requests if r.path == "/files/generated.png"]
    assert got.data == PNG_1X1 and got.url == server.file_url("generated.png") and got.download_error == ""
    assert len(fetched) == 1 and "authorization" not in fetched[0].headers


def test_a_link_that_404s_is_kept_with_the_reason(server):
    server.image_mode, server.image_url = "url", server.file_url("gone.png")
    server.files["gone.png"] = File(status=404, data=b"not found", content_type="text/plain")
    got = client.image(conn(server), model="flux-dev", prompt="a trail")
    assert got.data is None and got.url == server.file_url("gone.png")
    assert got.download_error == ("The image could not be downloaded from 127.0.0.1 (HTTP 404); only the "
                                  "provider's link is kept, and it may expire.")


def test_runware_image_task(server):
    c = ProviderConnection("runware", API_KEY, server.runware_url, FAST)
    got = client.image(c, model="runware:97@1", prompt="a trail", size="1792x1024", negative_prompt="blurry")
    task = server.posts("/runware")[0].json[0]
    assert task["taskType"] == "imageInference" and task["model"] == "runware:97@1"
    assert (task["width"], task["height"], task["negativePrompt"]) == (1792, 1024, "blurry")
    assert got.url == server.file_url(f"{task['taskUUID']}-0.webp") and got.data == PNG_1X1  # fetched at once


def test_runware_errors_and_retries(server):
    c = ProviderConnection("runware", API_KEY, server.runware_url, FAST)
    server.fail(503, queue="runware")
    assert client.image(c, model="runware:97@1", prompt="x").attempts == 2
    server.runware.append(Reply(body={"errors": [{"code": "invalidModel", "message": "Unknown model"}]}))
    with pytest.raises(AIProviderError, match="refused the request.*Unknown model"):
        client.image(c, model="nope", prompt="x")


def test_connection_check(server):
    ok = client.test_connection(conn(server))
    assert ok.ok and ok.models == ["dall-e-3", "gpt-4o-mini"]
    bad = client.test_connection(ProviderConnection("p-bad", "sk-nope", server.url, FAST))
    assert not bad.ok and "refused the API key" in bad.message
    down = client.test_connection(ProviderConnection("p-down2", API_KEY, "http://127.0.0.1:9/v1", FAST))
    assert not down.ok and "Could not reach" in down.message
    rw = client.test_connection(ProviderConnection("runware", API_KEY, server.runware_url, FAST))
    assert rw.ok and server.posts("/runware")[-1].json == [{"taskType": "authentication", "apiKey": API_KEY}]
