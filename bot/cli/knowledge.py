"""`safetybot knowledge check [--dir DIR]`: validate the knowledge base (content/knowledge).

One line per problem (file:line: what is wrong) and exit 1, or 「知识库检查通过：N 条」.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.content import texts
from bot.knowledge import loader


def cmd_check(args) -> int:
    folder = Path(args.dir) if args.dir else loader.knowledge_dir()
    kb = loader.load(folder, secondary=False)
    for problem in kb.problems:
        print(problem, file=sys.stderr)
    if kb.problems:
        return 1
    print(texts.get("knowledge.check.ok", count=len(kb.entries)))
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("knowledge", help="the knowledge base the bot answers questions from")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate content/knowledge; exit 1 on any problem")
    check.add_argument("--dir", help="the folder to check (default: content/knowledge)")
    check.set_defaults(func=cmd_check)
