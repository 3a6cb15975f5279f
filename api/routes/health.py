"""GET /healthz: can this process reach its database and Temporal?"""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import Ctx

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Database and Temporal reachability")
async def healthz(ctx: Ctx):
    checks = {"database": "ok", "temporal": "ok"}
    try:
        async with ctx.sessions() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), timeout=3)
    except Exception as error:  # any failure means "not reachable", which is what this endpoint reports
        checks["database"] = f"unreachable: {type(error).__name__}"
    try:
        client = await asyncio.wait_for(ctx.temporal.client(), timeout=3)
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
    except Exception as error:
        checks["temporal"] = f"unreachable: {type(error).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "unavailable", **checks}, status_code=200 if healthy else 503)
