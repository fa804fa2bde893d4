"""The leave-one-writer-out measure trains without the writer it scores."""

from __future__ import annotations

import json

from bot.bench.lowo import training_rows, writer_files
from graphs.assistant.understanding import corpus


def test_every_writer_file_is_a_fold_and_its_lines_are_kept_out_of_training() -> None:
    rows = corpus.load()
    files = writer_files()
    assert len(files) >= 8
    held_out = files[0]
    kept = training_rows(rows, held_out)
    questions = {
        json.loads(line)["q"].lower().strip() for line in held_out.read_text("utf-8").splitlines()
    }
    assert not [r for r in kept if r.source == held_out.stem]
    assert not [r for r in kept if r.q.lower().strip() in questions]  # shared with others too
    assert any(r.source == files[1].stem for r in kept)
    assert len(rows) - 2 * len(questions) < len(kept) < len(rows)
