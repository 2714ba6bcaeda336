"""The notebooks under submissions/ are deliberately broken learner submissions (endless loops,
os._exit, segfaults, writes outside their folder) for tests/test_grading.py, which grades them
in the grader's sandbox. pytest must never collect them itself (nbval would run them bare)."""

collect_ignore_glob = ["*"]
