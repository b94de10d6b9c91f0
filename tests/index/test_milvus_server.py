"""Two processes on one ``milvus-lite server``: one builds, another (with no index folder)
serves whatever the alias names, before and after a reindex."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.answering.serving import IndexHolder
from service.core.errors import NotReady
from service.index.build import reindex
from service.index.vector_store import current_version
from tests.conftest import REPO, SEED_CORPUS, make_settings
from tests.fakes import BigramEmbedder
from tests.servers import milvus_lite_server

NODE = """
import json, sys
from service.answering.serving import IndexHolder
from service.core.settings import Settings
from tests.fakes import BigramEmbedder
holder = IndexHolder(Settings(refusal_dense_weight=0.0), BigramEmbedder())
holder.refresh()
snapshot = holder.snapshot()
answer = snapshot.answerer.answer(sys.argv[1])
print(json.dumps({"version": snapshot.version, "text": answer.text}, ensure_ascii=False))
"""


def ask_node(uri: str, folder: Path, question: str) -> dict[str, str]:
    """A separate process, its own empty index and data folders, asking through Milvus."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYBOT_")}
    env.update(PYTHONPATH=str(REPO), POLICYBOT_VECTOR_STORE="milvus", POLICYBOT_MILVUS_URI=uri,
               POLICYBOT_INDEX_DIR=str(folder / "index"), POLICYBOT_DATA_DIR=str(folder / "data"))
    done = subprocess.run([sys.executable, "-c", NODE, question], env=env, cwd=folder,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.slow
def test_a_second_process_serves_what_the_first_built_in_a_shared_milvus(tmp_path: Path) -> None:
    shutil.copytree(SEED_CORPUS, tmp_path / "corpus")
    (tmp_path / "node").mkdir()
    with milvus_lite_server(tmp_path / "milvus") as uri:
        settings = make_settings(tmp_path, vector_store="milvus", milvus_uri=uri)
        first = reindex(settings, BigramEmbedder(), progress=False)
        seen = ask_node(uri, tmp_path / "node", "企业在哪里可以查到惠企政策")
        assert seen["version"] == first.version and "泉惠企" in seen["text"]
        (settings.corpus_dir / "new.txt").write_text(
            "---\ntitle: 独角兽专项\n---\n高新区对独角兽企业给予一次性奖励五百万元。", "utf-8")
        second = reindex(settings, BigramEmbedder(), progress=False)
        seen = ask_node(uri, tmp_path / "node", "独角兽企业有什么奖励")
        assert seen["version"] == second.version == current_version(settings)
        assert "五百万元" in seen["text"]
        holder = IndexHolder(settings, BigramEmbedder())
        holder.refresh()
    assert not (tmp_path / "node" / "index").exists()
    with pytest.raises(NotReady, match="POLICYBOT_MILVUS_URI"):  # Milvus stopped: a 503
        holder.snapshot().answerer.answer("高新区有哪些人才政策")
