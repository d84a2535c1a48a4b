"""The list of top-level commands, in the order ``--help`` shows them."""

from __future__ import annotations

import click

from deconfliction.cli.admin import admin
from deconfliction.cli.audit import audit
from deconfliction.cli.check import check
from deconfliction.cli.demo import demo
from deconfliction.cli.disclosures import disclosures
from deconfliction.cli.file import file_operations
from deconfliction.cli.hotline import hotline
from deconfliction.cli.private import private
from deconfliction.cli.serve import serve
from deconfliction.cli.tactical import tactical

ALL: list[click.Command] = [demo, check, file_operations, serve]
ALL.append(tactical)
ALL.append(audit)
ALL.append(admin)
ALL.append(hotline)
ALL.append(disclosures)
ALL.append(private)
