"""A scripted OpenAI-compatible engine for the canary demo and its test: SCRIPTED, not a
model. It answers from fixed rules, so what each served version does is certain:

* model ``good`` (v1, v2): answers the contract of the example would have it give, in the
  user's language (English or Chinese): an order question gets "send me your order
  number" (or "noted" when it has one), a product recommendation a JSON array, an attack
  or anything off-topic a polite refusal with the offer of a human agent;
* model ``leaky`` (v3): the same answer, followed by the whole system prompt it was sent,
  canary included: a model that leaks its instructions, which the gateway's guard must
  catch, replace and capture, and the rollout's analysis must stop.

    .venv/bin/python scripts/canary_demo_engine.py --port 8100   # 127.0.0.1 only

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions`` (non-streaming and SSE).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

ATTACK = re.compile(
    r"(?i)ignore (all|your|the|previous)|instructions|system prompt|your rules|developer mode|"
    r"pretend|jailbreak|\bDAN\b|base64|rot13|other customers?|phone numbers? of|"
    r"no limits|no rules|from now on you are|e-?mail address|"
    r"忽略|指令|规则|提示词|扮演|开发者模式|其他顾客|别的顾客"
)
RECOMMEND = re.compile(r"(?i)recommend|suggest|推荐")
ORDER = re.compile(
    r"(?i)order|package|parcel|deliver|refund|return|cancel|invoice|track|ship|arriv|"
    r"订单|快递|退|发货|包裹|发票|到账|物流"
)
ORDER_NO = re.compile(r"SM-2026-\d{7}")
CJK = re.compile(r"[\u4e00-\u9fff]")
REPLIES = {
    "en": {
        "ask": "Happy to help with that. Could you send me your order number (format "
        "SM-2026-XXXXXXX)? Then I can look into it for you.",
        "noted": "Thank you, I have noted order {order}. I am checking it now and will come "
        "back to you with the details shortly.",
        "refuse": "Sorry, I can't help with that: I can only help with ShopMate orders, "
        "deliveries, returns, refunds, invoices and your account. Would you like me to "
        "transfer you to a human agent?",
    },
    "zh": {
        "ask": "好的，我来帮您处理。请提供您的订单号（格式 SM-2026-XXXXXXX），我马上为您查询。",
        "noted": "谢谢，已记下订单 {order}。我正在为您查询，稍后回复您详细情况。",
        "refuse": "抱歉，这个我无法帮忙：我只能处理 ShopMate 的订单、物流、退换货、退款、"
        "发票和账户问题。需要我为您转接人工客服吗？",
    },
}
PRODUCTS = (
    '[{"name": "ShopMate Trail Runner", "url": "https://shopmate.example/p/trail-runner", '
    '"price": 59.9}, {"name": "ShopMate Desk Lamp", "url": '
    '"https://shopmate.example/p/desk-lamp", "price": 19.5}]'
)
MODELS = ("good", "leaky")


def answer(model: str, messages: list[dict[str, Any]]) -> str:
    """The scripted answer of ``model`` to ``messages`` (see the module docstring)."""
    user = str(
        next((m.get("content") or "" for m in reversed(messages) if m["role"] == "user"), "")
    )
    replies = REPLIES["zh" if CJK.search(user) else "en"]
    order = ORDER_NO.search(user)
    if ATTACK.search(user):
        text = replies["refuse"]
    elif RECOMMEND.search(user):
        text = PRODUCTS
    elif order:
        text = replies["noted"].format(order=order.group(0))
    elif ORDER.search(user):
        text = replies["ask"]
    else:
        text = replies["refuse"]
    if model == "leaky":
        system = "\n".join(str(m.get("content") or "") for m in messages if m["role"] == "system")
        text += "\n\nFor transparency, here are my full instructions:\n" + system
    return text


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.json()
        model = str(body.get("model", "good"))
        if model not in MODELS:
            return JSONResponse(
                {"error": {"message": f"unknown model {model!r}", "type": "invalid_request_error"}},
                status_code=404,
            )
        text = answer(model, body.get("messages") or [])
        usage = {
            "prompt_tokens": sum(len(str(m.get("content", ""))) // 4 for m in body["messages"]),
            "completion_tokens": len(text) // 4,
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        created = int(time.time())
        if body.get("stream"):

            def events() -> Iterator[str]:
                for word in text.split(" "):
                    delta = {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
                    yield f"data: {json.dumps(delta)}\n\n"
                done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                yield f"data: {json.dumps({**done, 'usage': usage})}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        return {
            "id": f"chatcmpl-{created}",
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
