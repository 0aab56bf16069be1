"""The question bank: the guide's every item, validated, with clear loading errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from interviewer.bank import DEFAULT_BANK_DIR, GUIDE_DESIGNS, load_bank, load_question
from interviewer.errors import BankError, UnknownQuestion
from interviewer.types import Kind

ROOT = Path(__file__).resolve().parent.parent

# Every item of ../shared/seed/ml-interview-guide.txt: (title, kind, difficulty).
GUIDE_ITEMS = [
    ("What is the difference between supervised and unsupervised learning?", "technical", "easy"),
    ("Explain bias-variance tradeoff", "technical", "medium"),
    ("What is regularization and why is it important?", "technical", "medium"),
    ("How do you handle imbalanced datasets?", "technical", "medium"),
    ("Explain backpropagation in neural networks", "technical", "medium"),
    ("What is batch normalization and why is it useful?", "technical", "medium"),
    ("Compare different activation functions (ReLU, Sigmoid, Tanh)", "technical", "easy"),
    ("What is the vanishing gradient problem?", "technical", "medium"),
    ("Explain the Transformer architecture", "technical", "hard"),
    ("What is the difference between BERT and GPT?", "technical", "medium"),
    ("How does attention mechanism work?", "technical", "medium"),
    ("Explain convolutional neural networks (CNNs)", "technical", "medium"),
    ("What is transfer learning and when would you use it?", "technical", "easy"),
    ("Explain object detection vs semantic segmentation", "technical", "medium"),
    ("How do you deploy a machine learning model to production?", "technical", "hard"),
    ("What is model drift and how do you detect it?", "technical", "medium"),
    ("How do you handle model versioning?", "technical", "medium"),
    ("Implement K-Nearest Neighbors from scratch", "coding", "medium"),
    ("Implement gradient descent", "coding", "medium"),
    ("Implement decision tree split", "coding", "hard"),
    ("Design a Recommendation System", "system_design", None),
    ("Design a Search Ranking System", "system_design", None),
    ("Design a Fraud Detection System", "system_design", None),
    ("Tell me about a time you improved model performance", "behavioral", None),
    ("Describe a time when your model failed in production. What did you learn?", "behavioral", None),
    ("Tell me about a disagreement you had with a team member about model approach", "behavioral", None),
    ("How do you explain complex ML concepts to non-technical stakeholders?", "behavioral", None),
    ("Describe a time you had to make a tradeoff between model performance and latency", "behavioral", None),
    ("Tell me about a project where you had to work with messy or incomplete data", "behavioral", None),
    ("How do you stay current with ML research and new techniques?", "behavioral", None),
]
LEADERSHIP_PRINCIPLES = ["Bias for Action", "Dive Deep", "Customer Obsession", "Deliver Results", "Learn and Be Curious"]


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interviewer", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_every_guide_item_is_in_the_bank_with_its_kind_and_difficulty(bank):
    by_title = {q.title: q for q in bank.questions.values()}
    for title, kind, difficulty in GUIDE_ITEMS:
        assert title in by_title, f"missing guide item: {title}"
        q = by_title[title]
        assert q.kind.value == kind, title
        assert q.source == "guide", title
        if difficulty:
            assert q.difficulty == difficulty, title


def test_the_bank_has_at_least_the_guides_34_questions(bank):
    counts = {k: len(bank.filter(kind=k)) for k in Kind}
    assert counts[Kind.technical] >= 17
    assert counts[Kind.coding] >= 3
    assert counts[Kind.system_design] >= 3
    assert counts[Kind.behavioral] >= 11


def test_one_question_per_leadership_principle(bank):
    for principle in LEADERSHIP_PRINCIPLES:
        carriers = [q for q in bank.filter(kind="behavioral") if principle in q.behavioral.principles]
        assert carriers, f"no question probes {principle}"
    fw = {f.id: f for f in bank.guide.frameworks}
    assert [p.name for p in fw["leadership-principles"].principles] == LEADERSHIP_PRINCIPLES


def test_star_example_keeps_the_guides_sample_and_a_better_model_answer(bank):
    q = bank.get("improved-model-performance")
    coaching = " ".join(q.coaching)
    assert "Our customer churn" in coaching and "$500K" in coaching  # the guide's sample, kept as its example
    assert "accuracy" not in q.reference_answer.lower().split("instead of")[0][-40:]
    assert any(i.kind == "misconception" for i in q.rubric)


def test_every_design_rubric_carries_all_ten_guide_names(bank):
    for qid, names in GUIDE_DESIGNS.items():
        q = bank.get(qid)
        labels = [i.label for i in q.rubric]
        assert len(names) == 10
        for name in names:
            assert name in labels, f"{qid} lacks {name}"
        kinds = {i.kind for i in q.rubric}
        assert "framing" in kinds
        framing = " ".join(i.label.lower() + i.covered_when.lower() for i in q.rubric if i.kind == "framing")
        assert "clarif" in framing and "metric" in framing


def test_guide_tips_are_rubric_items_and_coaching(bank):
    for q in bank.filter(kind="coding"):
        kinds_ids = {(i.kind, i.id) for i in q.rubric}
        assert ("framing", "clarifying-questions") in kinds_ids, q.id
        assert ("framing", "approach-first") in kinds_ids, q.id
    tips = {t.id for t in bank.guide.tips}
    assert {"clarify-first", "think-out-loud", "practice-practice"} <= tips
    assert all(q.coaching for q in bank.questions.values())


def test_coding_interfaces_are_exact(bank):
    import ast

    expected = {
        "knn-from-scratch": ("knn_predict", ["X_train", "y_train", "X_test", "k"], []),
        "gradient-descent": ("gradient_descent", ["X", "y", "lr", "epochs"], [0.01, 1000]),
        "decision-tree-split": ("best_split", ["X", "y"], []),
    }
    for qid, (name, params, defaults) in expected.items():
        spec = bank.get(qid).coding
        assert spec.function_name == name
        for source in (spec.starter_code, spec.reference_solution):
            fn = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
            assert [a.arg for a in fn.args.args] == params, qid
            assert [ast.literal_eval(d) for d in fn.args.defaults] == defaults, qid
        assert spec.hidden_tests and spec.visible_tests


def test_technical_questions_have_key_points_and_a_misconception(bank):
    for q in bank.filter(kind="technical"):
        n = sum(1 for i in q.rubric if i.kind == "key_point")
        assert 5 <= n <= 8, q.id
        assert q.misconceptions, q.id
        assert 2 <= len(q.probes) <= 4


# --------------------------------------------------------------------------- validation errors

@pytest.fixture()
def bank_copy(tmp_path):
    dst = tmp_path / "bank"
    shutil.copytree(DEFAULT_BANK_DIR, dst)
    return dst


def _problems(root: Path) -> list[str]:
    with pytest.raises(BankError) as info:
        load_bank(root)
    return info.value.problems


def test_malformed_yaml_names_file_and_line(bank_copy):
    path = bank_copy / "technical" / "regularization.yaml"
    path.write_text("id: regularization\nkind: technical\ntitle: [unclosed\nprompt: x\n")
    problems = _problems(bank_copy)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:")
    assert "(yaml)" in problems[0]


def test_unknown_field_is_an_error_with_its_line(bank_copy):
    path = bank_copy / "technical" / "regularization.yaml"
    data = yaml.safe_load(path.read_text())
    data["rubric"][0]["colour"] = "blue"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    problems = _problems(bank_copy)
    assert any(p.startswith(f"{path}:") and "rubric[0].colour" in p and "Extra inputs" in p for p in problems)
    line = int(problems[0].split(":")[1])
    assert "colour" in path.read_text().splitlines()[line - 1]


def test_duplicate_ids_are_an_error(bank_copy):
    src = bank_copy / "technical" / "regularization.yaml"
    dup = bank_copy / "behavioral" / "regularization.yaml"
    shutil.copy(src, dup)
    problems = _problems(bank_copy)
    assert any("duplicate id 'regularization'" in p for p in problems)


def test_probe_naming_an_unknown_item_is_an_error(bank_copy):
    path = bank_copy / "technical" / "regularization.yaml"
    data = yaml.safe_load(path.read_text())
    data["probes"][0]["item"] = "no-such-item"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    problems = _problems(bank_copy)
    assert any(p.startswith(f"{path}:") and "unknown rubric item 'no-such-item'" in p for p in problems)


def test_design_missing_a_guide_item_is_an_error(bank_copy):
    path = bank_copy / "system_design" / "design-recommendation-system.yaml"
    data = yaml.safe_load(path.read_text())
    data["rubric"] = [i for i in data["rubric"] if i["label"] != "Cold start problem"]
    data["probes"] = [p for p in data["probes"] if p["item"] in {i["id"] for i in data["rubric"]}]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    problems = _problems(bank_copy)
    assert any(p.startswith(f"{path}:") and "'Cold start problem' is missing" in p for p in problems)


def test_load_question_raises_one_error_type(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(BankError) as info:
        load_question(bad)
    assert str(bad) in str(info.value)


def test_unknown_question_id(bank):
    with pytest.raises(UnknownQuestion):
        bank.get("nope")


# --------------------------------------------------------------------------- CLI

def test_cli_questions_json_lists_the_bank():
    out = _cli("questions", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data) >= 34
    for row in data:
        assert {"id", "kind", "title", "prompt", "difficulty", "topics"} <= row.keys()
    kinds = [r["kind"] for r in data]
    assert kinds.count("technical") >= 17 and kinds.count("coding") >= 3
    assert kinds.count("system_design") >= 3 and kinds.count("behavioral") >= 11


def test_cli_questions_filters_by_kind():
    data = json.loads(_cli("questions", "--kind", "system_design", "--json").stdout)
    assert data and all(r["kind"] == "system_design" for r in data)


def test_cli_show_json_includes_rubric():
    out = _cli("show", "design-recommendation-system", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["id"] == "design-recommendation-system"
    assert all({"id", "label", "weight"} <= item.keys() for item in data["rubric"])
    assert "Cold start problem" in [i["label"] for i in data["rubric"]]


def test_cli_show_unknown_id_is_a_clear_error():
    out = _cli("show", "no-such-question")
    assert out.returncode != 0
    assert "no question with id 'no-such-question'" in out.stderr


def test_cli_bank_validate_ok_and_broken(bank_copy):
    ok = _cli("bank", "validate")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK: ")
    broken = bank_copy / "behavioral" / "staying-current.yaml"
    broken.write_text(broken.read_text().replace("kind: behavioral", "kind: behavioural"))
    bad = _cli("bank", "validate", str(bank_copy))
    assert bad.returncode == 1
    lines = bad.stdout.strip().splitlines()
    assert lines and all(line.startswith(str(broken)) for line in lines)
