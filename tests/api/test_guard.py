"""A study's upload streamed to disk as it arrives, under the guard's cap and time limits."""

import asyncio
from types import SimpleNamespace

import pytest
from fastapi import HTTPException

from costmodel.api.guard import spool_body


def _request(chunks, stall: bool = False):
    async def stream():
        for chunk in chunks:
            yield chunk
        if stall:  # a client that stops sending: nothing ever comes
            await asyncio.Event().wait()
    return SimpleNamespace(stream=stream, url=SimpleNamespace(path="/study"))


def test_a_body_in_pieces_is_written_whole_to_a_file():
    path = asyncio.run(spool_body(_request([b"application_id,", b"capacity\n", b"a,10\n"]), limit=100))
    try:
        assert path.read_bytes() == b"application_id,capacity\na,10\n"
    finally:
        path.unlink()


@pytest.mark.parametrize("chunks, stall, status", [
    ([b"x" * 60, b"x" * 60], False, 413),  # 120 bytes against a cap of 100, found while reading
    ([b"x" * 10], True, 408),  # then nothing more
    ([], False, 422),  # an empty body
])
def test_a_refused_upload_leaves_no_file(tmp_path, monkeypatch, chunks, stall, status):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(HTTPException) as refused:
        asyncio.run(spool_body(_request(chunks, stall), limit=100, idle_timeout_s=0.01))
    assert refused.value.status_code == status
    assert list(tmp_path.iterdir()) == []
