"""Grade some attack students of one assignment with this checkout's grader.

    .venv/bin/python bench/grade_attacks.py 01_convolution attack-renamed-dis attack-renamed
    .venv/bin/python bench/grade_attacks.py 01_convolution --all

Builds the students with ``tools/make_class.attack_class`` (each is the release with one
answer cell replaced by an attack), grades them with ``tools/grade.py``'s ``run`` (two
workers) in a temporary folder, and prints each student's score, the score it is due, and
the problems the grader reported. Run it from another checkout with this checkout's
``tools/make_class.py`` copied in to see what an older grader gives the same students.
"""

import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path.cwd() / "tools")]
import grade  # noqa: E402
import make_class  # noqa: E402


def main(argv):
    assignment, names = argv[0], argv[1:]
    files, scores = make_class.attack_class(assignment)
    if "--all" not in names:
        files = {name: notebooks for name, notebooks in files.items() if name in names}
    tmp = Path(tempfile.mkdtemp(prefix="attacks-"))
    folder = make_class.write_class(files, tmp / "submitted")
    results = grade.run(folder, tmp / "grading", jobs=2, quiet=True, timeout=600)
    for row in results["submissions"]:
        print(row["student"], row["score"], "due", scores.get(row["student"]),
              "FAILED" if row["failed"] else "", row["problems"])


if __name__ == "__main__":  # the grader's Dask workers import this module: nothing runs then
    main(sys.argv[1:])
